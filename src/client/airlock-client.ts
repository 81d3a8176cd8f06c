import { randomUUID } from 'node:crypto';
import type { ActionView } from '../actions/action-view.js';
import type { OperationName } from '../actions/catalogue.js';
import type {
  AckResponse,
  Delivery,
  LeaseRequest,
  NackRequest,
  NackResponse,
  RecordView,
} from '../dispatch/wire.js';
import { type ConsumeOptions, consumeDeliveries } from './consume-deliveries.js';
import { expectSuccess, sendRequest, type Transport } from './http-request.js';
import { deriveIdempotencyKey } from './idempotency-key.js';
import {
  type ProposalInput,
  type ProposalResult,
  type RecordRef,
  toProposalResult,
} from './proposal-result.js';

export interface AirlockClientOptions {
  /** The gateway's base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** The agent's key, sent as `Authorization: Bearer <key>`. */
  readonly key: string;
  /** The `fetch` to call with. Default: the global one. */
  readonly fetch?: typeof fetch;
  /**
   * How long one request may take, in ms. A proposal waits for its outcome up to the gateway's
   * `actions.wait` (5 s by default) before it is answered `queued`. Default 60 000.
   */
  readonly timeoutMs?: number;
}

/**
 * An agent's client of the Airlock gateway: propose writes, read records and actions, and take
 * deliveries by lease and ack. Expected outcomes of a proposal (executed, queued, waiting for
 * approval, refused) are values; `AirlockError` is thrown when the gateway cannot be reached,
 * rejects the key, fails, or answers something unexpected.
 */
export class AirlockClient {
  readonly #transport: Transport;

  constructor(options: AirlockClientOptions) {
    this.#transport = {
      baseUrl: options.url.replace(/\/+$/, ''),
      key: options.key,
      fetch: options.fetch ?? globalThis.fetch,
      timeoutMs: options.timeoutMs ?? 60_000,
    };
  }

  /**
   * `POST /v1/actions`: proposes a write. Sent with `proposal.idempotencyKey`, or one derived
   * from the decision (`deriveIdempotencyKey`), so a retry, or a second run of the agent on the
   * same event, does not write twice. Switch on the result's `outcome`.
   */
  async propose<Op extends OperationName>(proposal: ProposalInput<Op>): Promise<ProposalResult> {
    const { idempotencyKey, ...body } = proposal;
    const key =
      idempotencyKey ??
      (proposal.dryRun
        ? `airlock-dry-run-${randomUUID()}`
        : deriveIdempotencyKey({
            operation: proposal.operation,
            target: proposal.target,
            events: proposal.basis?.events,
            params: proposal.params,
          }));
    const answer = await sendRequest(this.#transport, 'POST', '/v1/actions', {
      body,
      headers: { 'idempotency-key': key },
    });
    return toProposalResult(answer, key);
  }

  /** `GET /v1/actions/{id}`: one of this agent's actions as it is now. */
  async getAction(id: string): Promise<ActionView> {
    const path = `/v1/actions/${encodeURIComponent(id)}`;
    const answer = await sendRequest(this.#transport, 'GET', path);
    return expectSuccess(answer, `GET ${path}`) as ActionView;
  }

  /**
   * `GET /v1/records/{system}/{type}/{id}`: the record as its system has it now, with the
   * revision to name as `basis.revision`.
   */
  async readRecord(record: RecordRef): Promise<RecordView> {
    const path = `/v1/records/${[record.system, record.type, record.id].map(encodeURIComponent).join('/')}`;
    const answer = await sendRequest(this.#transport, 'GET', path);
    return expectSuccess(answer, `GET ${path}`) as RecordView;
  }

  /**
   * `POST /v1/events/lease`: up to `max` deliveries (each one record's next events), ours for
   * `visibilityMs`; ack or nack each. Empty when nothing is waiting.
   */
  async lease(options: LeaseRequest = {}): Promise<Delivery[]> {
    const answer = await sendRequest(this.#transport, 'POST', '/v1/events/lease', {
      body: options,
    });
    return (expectSuccess(answer, 'POST /v1/events/lease') as { deliveries: Delivery[] })
      .deliveries;
  }

  /** `POST /v1/events/{id}/ack`: the delivery was handled; the record's next one may come. */
  async ack(deliveryId: string): Promise<AckResponse> {
    const path = `/v1/events/${encodeURIComponent(deliveryId)}/ack`;
    const answer = await sendRequest(this.#transport, 'POST', path, { body: {} });
    return expectSuccess(answer, `POST ${path}`) as AckResponse;
  }

  /** `POST /v1/events/{id}/nack`: give the delivery back, to be offered again after `delayMs`. */
  async nack(deliveryId: string, options: NackRequest = {}): Promise<NackResponse> {
    const path = `/v1/events/${encodeURIComponent(deliveryId)}/nack`;
    const answer = await sendRequest(this.#transport, 'POST', path, { body: options });
    return expectSuccess(answer, `POST ${path}`) as NackResponse;
  }

  /**
   * Leases and handles deliveries until `options.signal` aborts: each is acked when `handler`
   * resolves, nacked with the error's message when it throws. See `consumeDeliveries`.
   */
  consume(
    handler: (delivery: Delivery) => Promise<void>,
    options: ConsumeOptions = {},
  ): Promise<void> {
    return consumeDeliveries(
      {
        lease: (request) => this.lease(request),
        ack: (id) => this.ack(id),
        nack: (id, request) => this.nack(id, request),
      },
      handler,
      options,
    );
  }
}
