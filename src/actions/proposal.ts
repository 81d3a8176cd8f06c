import { z } from 'zod';

/** Text kept in columns and compared in queries: PostgreSQL text cannot hold a NUL. */
const text = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((value) => !value.includes('\u0000'), 'must not contain a NUL character');

const recordRef = z.strictObject({
  system: text(100),
  type: text(100),
  id: text(500),
});

/** The body of `POST /v1/actions`, as DESIGN.md gives it. */
export const proposalSchema = z.strictObject({
  operation: text(100),
  target: recordRef,
  params: z.record(z.string(), z.unknown()).default({}),
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
      context: z.record(z.string(), z.unknown()).optional(),
    })
    .optional(),
  dryRun: z.boolean().default(false),
});

export type Proposal = z.output<typeof proposalSchema>;
export type ProposalTarget = Proposal['target'];

export function recordKey(target: ProposalTarget): string {
  return `${target.system}:${target.type}:${target.id}`;
}
