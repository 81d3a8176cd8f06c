import { describe, expect, it } from 'vitest';
import { createMetrics, type Metrics } from './index.js';

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/y;
const TYPE_LINE = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/;

/**
 * Reads the Prometheus text format strictly: every line a comment or a well-formed sample, every
 * sample of a declared family. Throws on anything else, so a test using it checks the format too.
 */
function parseExposition(text: string): Sample[] {
  const families = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ')) continue;
    const type = TYPE_LINE.exec(line);
    if (type) {
      families.set(type[1] as string, type[2] as string);
      continue;
    }
    const match = SAMPLE_LINE.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const [, name = '', labelText = '', valueText = ''] = match;
    const labels: Record<string, string> = {};
    LABEL_PAIR.lastIndex = 0;
    while (LABEL_PAIR.lastIndex < labelText.length) {
      const pair = LABEL_PAIR.exec(labelText);
      if (!pair) throw new Error(`bad labels in: ${line}`);
      labels[pair[1] as string] = pair[2] as string;
    }
    const family = name.replace(/_(bucket|sum|count)$/, '');
    if (!families.has(name) && !families.has(family)) throw new Error(`no TYPE for ${name}`);
    samples.push({ name, labels, value: parseValue(valueText, line) });
  }
  return samples;
}

/**
 * A sample value as Prometheus reads it (Go's ParseFloat): `NaN` in any case — prom-client writes
 * `Nan`, e.g. for an event-loop mean before the first sample — and `±Inf`.
 */
function parseValue(text: string, line: string): number {
  if (/^nan$/i.test(text)) return Number.NaN;
  if (/^[+-]?inf$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  const value = Number(text);
  if (text === '' || Number.isNaN(value)) throw new Error(`bad value in: ${line}`);
  return value;
}

async function scrape(metrics: Metrics): Promise<Sample[]> {
  return parseExposition(await metrics.registry.metrics());
}

/** The value of the one sample with this name and exactly these labels, or undefined. */
function sampleValue(
  samples: readonly Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  return samples.find(
    (sample) =>
      sample.name === name && JSON.stringify(Object.entries(sample.labels).sort()) === wanted,
  )?.value;
}

describe('createMetrics', () => {
  it('counts events by source, and rejections by source and reason', async () => {
    const metrics = createMetrics();
    metrics.eventReceived('demo');
    metrics.eventReceived('demo', 3);
    metrics.eventReceived('crm');
    metrics.eventDuplicate('demo', 2);
    metrics.eventRejected('demo', 'signature-invalid');
    metrics.eventRejected('demo', 'signature-invalid');
    metrics.eventRejected('crm', 'malformed-body');

    const samples = await scrape(metrics);
    expect(sampleValue(samples, 'airlock_events_received_total', { source: 'demo' })).toBe(4);
    expect(sampleValue(samples, 'airlock_events_received_total', { source: 'crm' })).toBe(1);
    expect(sampleValue(samples, 'airlock_events_duplicate_total', { source: 'demo' })).toBe(2);
    expect(
      sampleValue(samples, 'airlock_events_duplicate_total', { source: 'crm' }),
    ).toBeUndefined();
    const rejected = (source: string, reason: string) =>
      sampleValue(samples, 'airlock_events_rejected_total', { source, reason });
    expect(rejected('demo', 'signature-invalid')).toBe(2);
    expect(rejected('crm', 'malformed-body')).toBe(1);
  });

  it('records an unknown source under one label value, not the name from the URL', async () => {
    const metrics = createMetrics();
    metrics.eventRejected('wp-login.php', 'unknown-source');
    metrics.eventRejected('admin', 'unknown-source');

    const samples = await scrape(metrics);
    const rejected = samples.filter((sample) => sample.name === 'airlock_events_rejected_total');
    expect(rejected).toEqual([
      {
        name: 'airlock_events_rejected_total',
        labels: { source: '(unknown)', reason: 'unknown-source' },
        value: 2,
      },
    ]);
  });

  it('counts actions, approvals, prevented writes and connector errors on their own series', async () => {
    const metrics = createMetrics();
    metrics.actionOutcome('ticket.reply', 'executed');
    metrics.actionOutcome('ticket.reply', 'executed');
    metrics.actionOutcome('ticket.reply', 'stale');
    metrics.actionOutcome('ticket.set_status', 'pending_approval');
    metrics.approvalOutcome('approved');
    metrics.approvalOutcome('expired');
    metrics.writePrevented('duplicate');
    metrics.writePrevented('wrong_record');
    metrics.writePrevented('wrong_record');
    metrics.connectorError('helpdesk', 503);
    metrics.connectorError('helpdesk', 'timeout');
    metrics.connectorError('crm', 'unsent');

    const samples = await scrape(metrics);
    const actions = (operation: string, outcome: string) =>
      sampleValue(samples, 'airlock_actions_total', { operation, outcome });
    expect(actions('ticket.reply', 'executed')).toBe(2);
    expect(actions('ticket.reply', 'stale')).toBe(1);
    expect(actions('ticket.set_status', 'pending_approval')).toBe(1);
    expect(actions('ticket.set_status', 'executed')).toBeUndefined();
    expect(sampleValue(samples, 'airlock_approvals_total', { outcome: 'approved' })).toBe(1);
    expect(sampleValue(samples, 'airlock_approvals_total', { outcome: 'expired' })).toBe(1);
    expect(sampleValue(samples, 'airlock_writes_prevented_total', { kind: 'duplicate' })).toBe(1);
    expect(sampleValue(samples, 'airlock_writes_prevented_total', { kind: 'wrong_record' })).toBe(
      2,
    );
    const errors = (system: string, status: string) =>
      sampleValue(samples, 'airlock_connector_errors_total', { system, status });
    expect(errors('helpdesk', '503')).toBe(1);
    expect(errors('helpdesk', 'timeout')).toBe(1);
    expect(errors('crm', 'unsent')).toBe(1);
  });

  it('observes latencies in seconds into cumulative buckets', async () => {
    const metrics = createMetrics();
    metrics.observeIngest(0.003);
    metrics.observeIngest(0.0004);
    metrics.observePipeline('ticket.reply', 0.02);
    metrics.observeConnectorCall('helpdesk', 'ticket.reply', 1.5);
    metrics.observeStoreOp('acceptAction', 0.002);

    const samples = await scrape(metrics);
    const ingestBucket = (le: string) =>
      sampleValue(samples, 'airlock_ingest_duration_seconds_bucket', { le });
    expect(ingestBucket('0.0005')).toBe(1);
    expect(ingestBucket('0.0025')).toBe(1);
    expect(ingestBucket('0.005')).toBe(2);
    expect(ingestBucket('+Inf')).toBe(2);
    expect(sampleValue(samples, 'airlock_ingest_duration_seconds_count')).toBe(2);
    expect(sampleValue(samples, 'airlock_ingest_duration_seconds_sum')).toBeCloseTo(0.0034);

    const pipeline = { operation: 'ticket.reply' };
    expect(sampleValue(samples, 'airlock_pipeline_duration_seconds_count', pipeline)).toBe(1);
    expect(
      sampleValue(samples, 'airlock_pipeline_duration_seconds_bucket', { ...pipeline, le: '0.01' }),
    ).toBe(0);
    expect(
      sampleValue(samples, 'airlock_pipeline_duration_seconds_bucket', {
        ...pipeline,
        le: '0.025',
      }),
    ).toBe(1);

    const call = { system: 'helpdesk', operation: 'ticket.reply' };
    expect(sampleValue(samples, 'airlock_connector_call_duration_seconds_sum', call)).toBe(1.5);
    expect(
      sampleValue(samples, 'airlock_connector_call_duration_seconds_bucket', { ...call, le: '1' }),
    ).toBe(0);
    expect(
      sampleValue(samples, 'airlock_connector_call_duration_seconds_bucket', {
        ...call,
        le: '2.5',
      }),
    ).toBe(1);

    const accept = { op: 'acceptAction' };
    expect(sampleValue(samples, 'airlock_store_op_duration_seconds_count', accept)).toBe(1);
    expect(
      sampleValue(samples, 'airlock_store_op_duration_seconds_bucket', { ...accept, le: '0.001' }),
    ).toBe(0);
    expect(
      sampleValue(samples, 'airlock_store_op_duration_seconds_bucket', { ...accept, le: '0.0025' }),
    ).toBe(1);
  });

  it('reads the queue depth from its provider at each scrape', async () => {
    const metrics = createMetrics();
    const depth = (samples: Sample[], status: string) =>
      sampleValue(samples, 'airlock_actions_queue_depth', { status });
    expect(depth(await scrape(metrics), 'queued')).toBeUndefined();

    let queued = 2;
    metrics.setQueueDepth(async () => ({ queued, executing: 1, pendingApproval: 0 }));
    let samples = await scrape(metrics);
    expect(depth(samples, 'queued')).toBe(2);
    expect(depth(samples, 'executing')).toBe(1);
    expect(depth(samples, 'pending_approval')).toBe(0);

    queued = 5;
    samples = await scrape(metrics);
    expect(depth(samples, 'queued')).toBe(5);
  });

  it('drops the queue depth, not the scrape, when the provider fails', async () => {
    const metrics = createMetrics();
    metrics.setQueueDepth(async () => ({ queued: 3, executing: 0, pendingApproval: 0 }));
    expect(
      sampleValue(await scrape(metrics), 'airlock_actions_queue_depth', { status: 'queued' }),
    ).toBe(3);

    metrics.setQueueDepth(async () => {
      throw new Error('store closed');
    });
    metrics.eventReceived('demo');
    const samples = await scrape(metrics);
    expect(samples.filter((sample) => sample.name === 'airlock_actions_queue_depth')).toEqual([]);
    expect(sampleValue(samples, 'airlock_events_received_total', { source: 'demo' })).toBe(1);
  });

  it('keeps two instances apart, each with the process metrics', async () => {
    const first = createMetrics();
    const second = createMetrics();
    first.eventReceived('demo');
    first.writePrevented('stale');
    second.eventReceived('demo', 7);

    const [a, b] = [await scrape(first), await scrape(second)];
    expect(sampleValue(a, 'airlock_events_received_total', { source: 'demo' })).toBe(1);
    expect(sampleValue(b, 'airlock_events_received_total', { source: 'demo' })).toBe(7);
    expect(sampleValue(b, 'airlock_writes_prevented_total', { kind: 'stale' })).toBeUndefined();
    for (const samples of [a, b]) {
      expect(sampleValue(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
      expect(samples.some((sample) => sample.name === 'nodejs_heap_size_used_bytes')).toBe(true);
    }
  });
});
