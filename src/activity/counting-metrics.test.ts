import { describe, expect, it } from 'vitest';
import { useStoreOps } from '../../test/helpers/action-ops.js';
import { BACKENDS } from '../../test/helpers/stores.js';
import { GATEWAY_OPS_MODULE, gatewayOps } from '../gateway-ops.js';
import { createMetrics } from '../metrics/index.js';
import { countingMetrics } from './counting-metrics.js';
import { ActivityTally } from './tally.js';

const MINUTE = 1_700_000_040_000;

describe.each(BACKENDS)('counting metrics on %s', (backend) => {
  const open = useStoreOps(backend, gatewayOps, GATEWAY_OPS_MODULE);

  it('counts refusals, connector errors and prevented writes in the store as well as in Prometheus', async () => {
    const { store, ops } = await open();
    const tally = new ActivityTally(ops, {
      onError: (error) => expect.fail(String(error)),
      now: () => MINUTE + 7_000,
    });
    const metrics = countingMetrics(createMetrics(), tally);
    metrics.eventReceived('demo', 3);
    metrics.eventRejected('demo', 'signature-invalid');
    metrics.eventRejected('wp-admin', 'unknown-source');
    metrics.connectorError('helpdesk', 503);
    metrics.connectorError('helpdesk', 503);
    metrics.connectorError('crm', 'timeout');
    metrics.writePrevented('stale');
    metrics.actionOutcome('ticket.reply', 'executed');
    await tally.flush();

    const rows = await store.db
      .selectFrom('activity_counts')
      .select(['kind', 'subject', 'reason', 'count'])
      .where('minute', '=', MINUTE)
      .orderBy('kind')
      .orderBy('subject')
      .orderBy('reason')
      .execute();
    expect(rows).toEqual([
      { kind: 'connector_error', subject: 'crm', reason: 'timeout', count: 1 },
      { kind: 'connector_error', subject: 'helpdesk', reason: '503', count: 2 },
      { kind: 'webhook_rejected', subject: '(unknown)', reason: 'unknown-source', count: 1 },
      { kind: 'webhook_rejected', subject: 'demo', reason: 'signature-invalid', count: 1 },
      { kind: 'write_prevented', subject: '-', reason: 'stale', count: 1 },
    ]);

    const page = await metrics.registry.metrics();
    expect(page).toContain('airlock_events_received_total{source="demo"} 3');
    expect(page).toContain(
      'airlock_events_rejected_total{source="(unknown)",reason="unknown-source"} 1',
    );
    expect(page).toContain('airlock_connector_errors_total{system="helpdesk",status="503"} 2');
    expect(page).toContain('airlock_writes_prevented_total{kind="stale"} 1');
    expect(page).toContain('airlock_actions_total{operation="ticket.reply",outcome="executed"} 1');
  });
});
