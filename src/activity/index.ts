export { countingMetrics } from './counting-metrics.js';
export { type ErrorItem, type ErrorKind, type ErrorQuery, listErrors } from './error-list.js';
export {
  type Overview,
  type OverviewWindow,
  type PreventedClass,
  type QueueState,
  readOverview,
  readQueues,
  type SeriesPoint,
} from './overview.js';
export { ActivityTally, type ActivityTallyOptions } from './tally.js';
