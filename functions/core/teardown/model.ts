import * as z from 'zod';
import { ValidationError } from '../errors.ts';
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

const PIPELINE = z.string().regex(/^[A-Za-z0-9.@\-_]{1,100}$/, 'must be a pipeline name');
const EXECUTION_ID = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'must be a pipeline execution id');
export const STACK_ARN =
  /^arn:aws[a-z-]*:cloudformation:[a-z0-9-]+:\d{12}:stack\/[A-Za-z][A-Za-z0-9-]{0,127}\/[A-Za-z0-9-]+$/;
const STACK_NAME = z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'must be a stack name');

/** A stack named in a sweep request: its StackId, and the owner its tags named when the sweeper saw it. */
export const SweepStack = z
  .object({
    stackId: z.string().regex(STACK_ARN, 'must be a stack ARN (StackId)'),
    stackName: STACK_NAME.optional(),
    pipeline: PIPELINE,
    executionId: EXECUTION_ID,
  })
  .strict();
export type SweepStack = z.infer<typeof SweepStack>;

/** Input from pipeline-events (see trigger.ts): one pipeline execution's test stacks. */
export const ExecutionRequest = z
  .object({
    pipeline: PIPELINE,
    executionId: EXECUTION_ID,
    reason: z.enum(['FAILED', 'STOPPED', 'CANCELED', 'SUPERSEDED', 'SUCCEEDED', 'MANUAL']),
    dryRun: z.boolean().default(false),
    graceSeconds: z.number().int().min(0).max(86_400).default(0),
  })
  .strict();

/** Input from the sweeper: stacks past their expiry (or maximum age) with no live owning execution. */
export const SweepRequest = z
  .object({
    reason: z.literal('EXPIRED'),
    dryRun: z.boolean().default(false),
    sweepId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    stacks: z.array(SweepStack).min(1).max(100),
  })
  .strict();

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
  deleteAttempts: z.number().int().min(1),
  remediate: z.boolean(),
  // Capped as in the settings: a state forged with a huge value would otherwise make the deadline an invalid Date
  // (RangeError in the inspect step) instead of being refused here, before any AWS call.
  deleteTimeoutMinutes: z.number().int().min(1).max(DELETE_TIMEOUT_MAX_MINUTES),
  allowRules: z.array(z.object({ pipeline: z.string(), stackName: z.string() })),
  deletionRoleArn: z.string().optional(),
});
export type RunPolicy = z.infer<typeof RunPolicy>;

/** The normalized request every later step sees (`$.request`). */
export const Run = z.object({
  runId: z.string(),
  pipeline: z.string().optional(),
  executionId: z.string().optional(),
  reason: z.enum(REASONS),
  dryRun: z.boolean(),
  sweep: z.boolean(),
  graceSeconds: z.number().int().min(0),
  maxConcurrency: z.number().int().min(1),
  startedAt: z.string(),
  policy: RunPolicy,
  stacks: z.array(SweepStack).optional(),
});
export type Run = z.infer<typeof Run>;

/** Where a stack was found: a registration record, a CloudFormation deploy action, or the sweeper. */
export const StackSource = z.enum(['registration', 'action', 'sweep']);

export const FailedResource = z.object({
  logicalId: z.string(),
  physicalId: z.string().optional(),
  type: z.string(),
  status: z.string(),
  reason: z.string().optional(),
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
  stackName: z.string().optional(),
  source: StackSource,
  /** false: discovery found the name but no stack (already deleted); nothing to look up by id. */
  resolved: z.boolean(),
  attempt: z.number().int().min(0).default(0),
  mode: DeleteMode.default('STANDARD'),
  clientRequestToken: z.string().optional(),
  /** ISO time after which waiting ends in TIMED_OUT. */
  deadline: z.string().optional(),
  /** Seconds for the next Wait (stabilising) or the next task-token wait (deletion). */
  waitSeconds: z.number().int().min(1).default(30),
  awaitSeconds: z.number().int().min(1).default(300),
  polls: z.number().int().min(0).default(0),
  next: z.enum(NEXT).optional(),
  status: z.string().optional(),
  outcome: z.enum(OUTCOMES).optional(),
  detail: z.string().optional(),
  failedResources: z.array(FailedResource).default([]),
  orphans: z.array(FailedResource).default([]),
  remediated: z.array(z.string()).default([]),
  /** The stack's own service role, as the inspect step saw it (absent: none). */
  stackRoleArn: z.string().optional(),
});
export type Item = z.infer<typeof Item>;

/** The stack status the event listener (or a poll) saw after our DeleteStack. */
export const Observation = z.object({
  status: z.string(),
  reason: z.string().optional(),
  via: z.enum(['event', 'poll']).default('event'),
});
export type Observation = z.infer<typeof Observation>;

/** A Catch-ed error as Step Functions hands it over. */
export const CaughtError = z.object({ Error: z.string(), Cause: z.string().optional() });
export type CaughtError = z.infer<typeof CaughtError>;

/** The state inside the item processor: the item, plus what the previous wait or Catch added. */
export const ItemState = z.object({
  item: Item,
  observed: Observation.optional(),
  error: CaughtError.optional(),
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

export const parseWith = <T>(schema: z.ZodType<T>, raw: unknown, what: string): T => {
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ValidationError(`malformed ${what}: ${issues.join('; ')}`, issues);
  }
  return r.data;
};
