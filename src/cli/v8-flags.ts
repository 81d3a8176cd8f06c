// Imported first by the CLI, so that it runs before the heap has grown: V8's flags are read as
// it allocates and collects.
import { setFlagsFromString } from 'node:v8';

/*
 * V8 "pretenures" the objects made at a place in the code where many survived a young-generation
 * collection: from then on it allocates them in the old generation. A busy gateway makes objects
 * that live a few milliseconds, waiting for a commit or an answer, and a share of them outlive a
 * young collection; pretenured, each is garbage in the old generation until the next full
 * collection, which V8 puts off as the heap grows. Under the load of `npm run bench:ingest` the
 * main thread's heap grew from about 35 MB live to over 100 MB between full collections; without
 * pretenuring the gateway's peak RSS was 234 and 234 MB against 284 and 263 MB with it
 * (alternating runs of the same code), at the same rate of events, and of actions under
 * `bench:actions`' load.
 */
setFlagsFromString('--no-allocation-site-pretenuring');
