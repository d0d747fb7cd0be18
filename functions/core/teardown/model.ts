import { ValidationError } from '../errors.ts';
import * as z from '../schemas/zod.ts';
import { DELETE_TIMEOUT_MAX_MINUTES } from '../settings.ts';

/**
 * The teardown workflow's data: the state machine input (one pipeline execution, or a sweep of expired stacks),
 * the per-stack item every task step reads and returns, and the outcome taxonomy. Each stack ends in exactly one
 * outcome.
 */
export const OUTCOMES = [
  'DELETED',
  'ALREADY_GONE',
  'SKIPPED_NOT_OWNED',
  'SKIPPED_PROTECTED',
  'BLOCKED_BY_EXPORT',
  'DELETE_FAILED',
  'RETAINED',
  'TIMED_OUT',
] as const;
export type Outcome = (typeof OUTCOMES)[number];

export const REASONS = ['FAILED', 'STOPPED', 'CANCELED', 'SUPERSEDED', 'SUCCEEDED', 'EXPIRED', 'MANUAL'] as const;

const PIPELINE = z.string().check(z.regex(/^[A-Za-z0-9.@\-_]{1,100}$/, 'must be a pipeline name'));
const EXECUTION_ID = z
  .string()
  .check(z.regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'must be a pipeline execution id'));
export const STACK_ARN =
  /^arn:aws[a-z-]*:cloudformation:[a-z0-9-]+:\d{12}:stack\/[A-Za-z][A-Za-z0-9-]{0,127}\/[A-Za-z0-9-]+$/;
const STACK_NAME = z.string().check(z.regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'must be a stack name'));

/** A stack named in a sweep request: its StackId, and the owner its tags named when the sweeper saw it. */
export const SweepStack = z.strictObject({
  stackId: z.string().check(z.regex(STACK_ARN, 'must be a stack ARN (StackId)')),
  stackName: z.optional(STACK_NAME),
  pipeline: PIPELINE,
  executionId: EXECUTION_ID,
});
export type SweepStack = z.infer<typeof SweepStack>;

/** An account and a region (a pipeline's, when it lives in a member account: docs/ORGANIZATION.md). */
export const LocationSchema = z.strictObject({
  accountId: z.string().check(z.regex(/^\d{12}$/, 'must be a 12-digit account id')),
  region: z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be a region')),
});

/** Input from pipeline-events (see trigger.ts): one pipeline execution's test stacks. */
export const ExecutionRequest = z.strictObject({
  pipeline: PIPELINE,
  executionId: EXECUTION_ID,
  /** Where the pipeline lives, when that is not the hub's own account and region. */
  where: z.optional(LocationSchema),
  reason: z.enum(['FAILED', 'STOPPED', 'CANCELED', 'SUPERSEDED', 'SUCCEEDED', 'MANUAL']),
  dryRun: z._default(z.boolean(), false),
  graceSeconds: z._default(z.int().check(z.minimum(0), z.maximum(86_400)), 0),
});

/** Input from the sweeper: stacks past their expiry (or maximum age) with no live owning execution. */
export const SweepRequest = z.strictObject({
  reason: z.literal('EXPIRED'),
  dryRun: z._default(z.boolean(), false),
  sweepId: z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/)),
  stacks: z.array(SweepStack).check(z.minLength(1), z.maxLength(100)),
});

export const TeardownRequest = z.union([ExecutionRequest, SweepRequest]);
export type TeardownRequest = z.infer<typeof TeardownRequest>;

/** Parses the state machine input; malformed input fails the execution before anything is looked at. */
export const parseTeardownRequest = (raw: unknown): TeardownRequest => {
  const r = TeardownRequest.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`);
    throw new ValidationError(`malformed teardown request: ${issues.join('; ')}`, issues);
  }
  return r.data;
};

/** The policy snapshot a run works with (taken once at start, so a settings change mid-run cannot mix rules). */
export const RunPolicy = z.object({
  onDeleteFailed: z.enum(['report', 'retain', 'force']),
  deleteAttempts: z.int().check(z.minimum(1)),
  remediate: z.boolean(),
  // Capped as in the settings: a state forged with a huge value would otherwise make the deadline an invalid Date
  // (RangeError in the inspect step) instead of being refused here, before any AWS call.
  deleteTimeoutMinutes: z.int().check(z.minimum(1), z.maximum(DELETE_TIMEOUT_MAX_MINUTES)),
  allowRules: z.array(z.object({ pipeline: z.string(), stackName: z.string() })),
  deletionRoleArn: z.optional(z.string()),
  /** The member accounts the run may act in besides the hub's own (settings organization.accounts, at start). */
  memberAccounts: z.optional(z.array(z.string())),
});
export type RunPolicy = z.infer<typeof RunPolicy>;

/** The normalized request every later step sees (`$.request`). */
export const Run = z.object({
  runId: z.string(),
  pipeline: z.optional(z.string()),
  executionId: z.optional(z.string()),
  /** Where the pipeline lives (absent: the hub's own account and region). */
  where: z.optional(LocationSchema),
  reason: z.enum(REASONS),
  dryRun: z.boolean(),
  sweep: z.boolean(),
  graceSeconds: z.int().check(z.minimum(0)),
  maxConcurrency: z.int().check(z.minimum(1)),
  startedAt: z.string(),
  policy: RunPolicy,
  stacks: z.optional(z.array(SweepStack)),
});
export type Run = z.infer<typeof Run>;

/** Where a stack was found: a registration record, a CloudFormation deploy action, or the sweeper. */
export const StackSource = z.enum(['registration', 'action', 'sweep']);

export const FailedResource = z.object({
  logicalId: z.string(),
  physicalId: z.optional(z.string()),
  type: z.string(),
  status: z.string(),
  reason: z.optional(z.string()),
});
export type FailedResource = z.infer<typeof FailedResource>;

export const DeleteMode = z.enum(['STANDARD', 'RETAIN', 'FORCE']);
export type DeleteMode = z.infer<typeof DeleteMode>;

/** What the Choice states route on. */
export const NEXT = ['delete', 'await', 'stabilise', 'diagnose', 'remediate', 'record'] as const;
export type Next = (typeof NEXT)[number];

/** One stack's progress through the item processor (`$.item`); every task returns the updated item. */
export const Item = z.object({
  runId: z.string(),
  pipeline: z.string(),
  executionId: z.string(),
  reason: z.enum(REASONS),
  dryRun: z.boolean(),
  policy: RunPolicy,
  stackId: z.string(),
  stackName: z.optional(z.string()),
  source: StackSource,
  /** false: discovery found the name but no stack (already deleted); nothing to look up by id. */
  resolved: z.boolean(),
  /** Set by discovery when the stack lives where the hub may not look (an account that is not a member). */
  refused: z.optional(z.string()),
  attempt: z._default(z.int().check(z.minimum(0)), 0),
  mode: z._default(DeleteMode, 'STANDARD'),
  clientRequestToken: z.optional(z.string()),
  /** ISO time after which waiting ends in TIMED_OUT. */
  deadline: z.optional(z.string()),
  /** Seconds for the next Wait (stabilising) or the next task-token wait (deletion). */
  waitSeconds: z._default(z.int().check(z.minimum(1)), 30),
  awaitSeconds: z._default(z.int().check(z.minimum(1)), 300),
  polls: z._default(z.int().check(z.minimum(0)), 0),
  next: z.optional(z.enum(NEXT)),
  status: z.optional(z.string()),
  outcome: z.optional(z.enum(OUTCOMES)),
  detail: z.optional(z.string()),
  failedResources: z._default(z.array(FailedResource), []),
  orphans: z._default(z.array(FailedResource), []),
  remediated: z._default(z.array(z.string()), []),
  /** The stack's own service role, as the inspect step saw it (absent: none). */
  stackRoleArn: z.optional(z.string()),
});
export type Item = z.infer<typeof Item>;

/** The stack status the event listener (or a poll) saw after our DeleteStack. */
export const Observation = z.object({
  status: z.string(),
  reason: z.optional(z.string()),
  via: z._default(z.enum(['event', 'poll']), 'event'),
});
export type Observation = z.infer<typeof Observation>;

/** A Catch-ed error as Step Functions hands it over. */
export const CaughtError = z.object({ Error: z.string(), Cause: z.optional(z.string()) });
export type CaughtError = z.infer<typeof CaughtError>;

/** The state inside the item processor: the item, plus what the previous wait or Catch added. */
export const ItemState = z.object({
  item: Item,
  observed: z.optional(Observation),
  error: z.optional(CaughtError),
});
export type ItemState = z.infer<typeof ItemState>;

/** One stack's final line in the run report. */
export type StackResult = {
  stackId: string;
  stackName?: string;
  outcome: Outcome;
  detail?: string;
  dryRun: boolean;
  attempts: number;
  orphans: FailedResource[];
  remediated: string[];
};

export const parseWith = <T>(schema: z.ZodMiniType<T>, raw: unknown, what: string): T => {
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ValidationError(`malformed ${what}: ${issues.join('; ')}`, issues);
  }
  return r.data;
};
