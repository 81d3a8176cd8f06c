import { z } from 'zod';
import { MAX_RECORD_ID_LENGTH } from '../connectors/index.js';
import { MAX_JSON_DEPTH, nestingDepth } from '../json-depth.js';

/**
 * Identifiers, kept in columns, compared in queries and sent to systems in URLs: PostgreSQL text
 * cannot hold a NUL, and a lone surrogate is not text at all (it has no UTF-8 form).
 */
const text = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((value) => !value.includes('\u0000'), 'must not contain a NUL character')
    .refine(
      (value) => value.isWellFormed(),
      'must be well-formed Unicode (it holds a lone surrogate)',
    );

/** A JSON object the gateway keeps or hands on without walking it deeper than `MAX_JSON_DEPTH`. */
const jsonObject = z
  .record(z.string(), z.unknown())
  .refine(
    (value) => nestingDepth(value, MAX_JSON_DEPTH) <= MAX_JSON_DEPTH,
    `must not nest objects and arrays more than ${MAX_JSON_DEPTH} levels deep`,
  );

const recordRef = z.strictObject({
  system: text(100),
  type: text(100),
  id: text(MAX_RECORD_ID_LENGTH),
});

/** The body of `POST /v1/actions`, as DESIGN.md gives it. */
export const proposalSchema = z.strictObject({
  operation: text(100),
  target: recordRef,
  params: jsonObject.default({}),
  basis: z
    .strictObject({
      /** The record revision the agent decided on. */
      revision: text(200).optional(),
      /** The inbox events (`evt_…`) that triggered the decision. */
      events: z.array(text(100)).max(100).default([]),
    })
    .optional(),
  /** Why the agent proposes it: kept for the trace, never interpreted. */
  decision: z
    .strictObject({
      model: z.string().max(200).optional(),
      summary: z.string().max(5000).optional(),
      context: jsonObject.optional(),
    })
    .optional(),
  dryRun: z.boolean().default(false),
});

export type Proposal = z.output<typeof proposalSchema>;
export type ProposalTarget = Proposal['target'];
