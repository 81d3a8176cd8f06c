/** A rule as written in the config (`policies:` list). */
export interface PolicyRuleConfig {
  readonly name: string;
  /** CEL: when the rule applies. Default: always. */
  readonly when?: string | undefined;
  /** CEL: the proposal is denied when this is true. */
  readonly deny?: string | undefined;
  /** CEL: the proposal needs a human approval when this is true. */
  readonly requireApproval?: string | undefined;
  /**
   * Proposals this rule applies to may write to an existing record without naming the revision
   * they were decided on (`basis.revision`); without such a rule they are refused.
   */
  readonly allowWithoutBasis?: boolean | undefined;
  /** Said to the agent (and the operator) when the rule decides. */
  readonly reason: string;
}

/** What policy sees. `record` is the target record as read just now, null for creates. */
export interface PolicyInput {
  readonly proposal: {
    readonly operation: string;
    readonly target: { readonly system: string; readonly type: string; readonly id: string };
    readonly params: Readonly<Record<string, unknown>>;
    readonly risk: 'low' | 'medium' | 'high';
  };
  readonly record: Readonly<Record<string, unknown>> | null;
  readonly agent: { readonly name: string; readonly operations: readonly string[] };
  /** Evaluation time (CEL `timestamp`). */
  readonly now: Date;
}

/** The verdict names the rule that decided; `allow` names none when no rule objected. */
export type Verdict =
  | { readonly kind: 'allow'; readonly rule: string | null; readonly reason: string }
  | { readonly kind: 'deny'; readonly rule: string; readonly reason: string }
  | { readonly kind: 'needs_approval'; readonly rule: string; readonly reason: string };
