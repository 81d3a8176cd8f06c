import type { Kysely } from 'kysely';
import type { Dialect } from '../store.js';
import * as inbox from './0001-inbox.js';
import * as actions from './0002-actions.js';
import * as oneActionPerKey from './0003-one-action-per-key.js';
import * as approvals from './0004-approvals.js';
import * as audit from './0005-audit.js';
import * as deliveries from './0006-deliveries.js';
import * as dashboard from './0007-dashboard.js';
import * as newsNeverSuperseded from './0008-news-never-superseded.js';
import * as openActions from './0009-open-actions.js';
import * as sentAt from './0010-sent-at.js';

export interface Migration {
  readonly name: string;
  up(db: Kysely<unknown>, dialect: Dialect): Promise<void>;
}

/** Every migration, in the order they apply. Forward-only: append, never edit or reorder. */
export const migrations: readonly Migration[] = [
  { name: '0001-inbox', up: inbox.up },
  { name: '0002-actions', up: actions.up },
  { name: '0003-one-action-per-key', up: oneActionPerKey.up },
  { name: '0004-approvals', up: approvals.up },
  { name: '0005-audit', up: audit.up },
  { name: '0006-deliveries', up: deliveries.up },
  { name: '0007-dashboard', up: dashboard.up },
  { name: '0008-news-never-superseded', up: newsNeverSuperseded.up },
  { name: '0009-open-actions', up: openActions.up },
  { name: '0010-sent-at', up: sentAt.up },
];
