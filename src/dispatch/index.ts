export { DELIVERY_OPS_MODULE, deliveryOps } from './delivery-ops.js';
export { Dispatcher, type DispatcherOptions } from './dispatcher.js';
export type { DeliveryOps } from './hand-over.js';
export type {
  DeliveredEvent,
  Delivery,
  DeliveryContext,
  RecordView,
  SkippedEvent,
} from './wire.js';
