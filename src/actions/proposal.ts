import { z } from 'zod';

const recordRef = z.strictObject({
  system: z.string().min(1).max(100),
  type: z.string().min(1).max(100),
  id: z.string().min(1).max(500),
});

/** The body of `POST /v1/actions`, as DESIGN.md gives it. */
export const proposalSchema = z.strictObject({
  operation: z.string().min(1).max(100),
  target: recordRef,
  params: z.record(z.string(), z.unknown()).default({}),
  basis: z
    .strictObject({
      /** The record revision the agent decided on. */
      revision: z.string().min(1).max(200).optional(),
      /** The inbox events (`evt_…`) that triggered the decision. */
      events: z.array(z.string().min(1).max(100)).max(100).default([]),
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
