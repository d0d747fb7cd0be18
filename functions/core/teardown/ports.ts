import type { Location } from '../organization/location.ts';
import type { Outcome, Run, StackResult } from './model.ts';

/** A stack as teardown needs it, read by StackId (deleted stacks keep answering with DELETE_COMPLETE). */
export type TeardownStack = {
  stackId: string;
  stackName: string;
  status: string;
  statusReason?: string;
  tags: Record<string, string>;
  terminationProtection: boolean;
  /** Set for nested stacks: only the root is ever deleted. */
  parentId?: string;
  creationTime?: string;
  /** The stack's service role (DescribeStacks `RoleARN`): CloudFormation deletes with it when DeleteStack names none. */
  roleArn?: string;
};

export type StackResource = {
  logicalId: string;
  physicalId?: string;
  type: string;
  status: string;
  reason?: string;
};

export type StackEvent = {
  logicalId: string;
  physicalId?: string;
  type: string;
  status: string;
  reason?: string;
  timestamp: string;
  clientRequestToken?: string;
};

export type DeleteRequest = {
  stackId: string;
  clientRequestToken: string;
  /** RetainResources: logical ids left in place (only accepted from DELETE_FAILED). */
  retainResources?: string[];
  /** FORCE_DELETE_STACK (only accepted from DELETE_FAILED). */
  force?: boolean;
  /** DeleteStack's RoleARN: the service role CloudFormation deletes the stack's resources with. */
  roleArn?: string;
};

export type TeardownStacks = {
  /** `undefined` when the id names no stack (never created, or deleted more than 90 days ago). */
  describe(stackIdOrName: string): Promise<TeardownStack | undefined>;
  delete(request: DeleteRequest): Promise<void>;
  listResources(stackId: string): Promise<StackResource[]>;
  /** Newest first, at most `limit` events. */
  recentEvents(stackId: string, limit: number): Promise<StackEvent[]>;
};

/** A registration written by the `register-test-stack` Invoke task. */
export type Registration = { stackId: string; stackName: string; expiresAt?: string };

/** A waiting `.waitForTaskToken` step: StackEventsFunction completes it when CloudFormation reports the stack. */
export type WaitRecord = {
  stackId: string;
  /** The DeleteStack's ClientRequestToken; `stabilise` waits use a fixed marker. */
  clientRequestToken: string;
  taskToken: string;
  runId: string;
  createdAt: string;
  /** Epoch seconds; the record expires with the wait. */
  expiresAt: number;
};

export type RunRecord = {
  runId: string;
  pipeline?: string;
  executionId?: string;
  reason: string;
  dryRun: boolean;
  status: 'RUNNING' | 'FINISHED' | 'CANCELLED';
  startedAt: string;
  finishedAt?: string;
  counts?: Partial<Record<Outcome, number>>;
  detail?: string;
};

export type StackOutcomeRecord = StackResult & {
  runId: string;
  pipeline: string;
  executionId: string;
  recordedAt: string;
};

export type TeardownStore = {
  registrations(pipeline: string, executionId: string): Promise<Registration[]>;
  putWait(record: WaitRecord): Promise<void>;
  /** Waits for a stack; with a token, only that DeleteStack's wait. */
  waitsFor(stackId: string, clientRequestToken?: string): Promise<WaitRecord[]>;
  deleteWait(stackId: string, clientRequestToken: string): Promise<void>;
  /**
   * Creates the RUNNING run record unless the run already has one (the same execution started again, e.g. Step
   * Functions re-running it): the first start time wins and is returned.
   */
  startRun(record: RunRecord): Promise<{ startedAt: string }>;
  putRun(record: RunRecord): Promise<void>;
  putStackOutcome(record: StackOutcomeRecord): Promise<void>;
};

export type BucketCleaner = {
  /** Deletes every object version and delete marker; returns how many were deleted. */
  emptyBucket(bucket: string): Promise<number>;
};

export type ImageCleaner = {
  /** Deletes every image of the repository; returns how many were deleted. */
  deleteImages(repository: string): Promise<number>;
};

export type ExecutionStatusReader = {
  /** CodePipeline's execution status (`InProgress`, `Failed`, `Stopped`, …); `where`: the pipeline's location. */
  status(pipeline: string, executionId: string, where?: Location): Promise<string>;
};

export type DeployedStack = {
  stackName: string;
  externalExecutionId?: string;
  /** Where the action deployed: its own `region`, and its `roleArn`'s account (absent: the pipeline's). */
  region?: string;
  accountId?: string;
};

export type DeployActions = {
  /** StackNames of the CloudFormation deploy actions of one pipeline execution (resolved configuration). */
  stacksOf(pipeline: string, executionId: string, where?: Location): Promise<DeployedStack[]>;
};

/** What teardown needs in one account and region: its stacks, and the buckets and repositories to empty there. */
export type LocatedTeardown = { stacks: TeardownStacks; buckets: BucketCleaner; images: ImageCleaner };

export type RunSummary = { run: Run; results: StackResult[]; finishedAt: string };

// --- the teardown workflow (Step Functions): started and stopped by name, resumed by task token.

export type StartOutcome = 'started' | 'already-exists';
export type StopOutcome = 'stopped' | 'not-running';
export type TaskReportOutcome = 'reported' | 'token-gone';

/** Starts and stops teardown executions by deterministic name; both idempotent. */
export type TeardownStarter = {
  startTeardown(name: string, input: Record<string, unknown>): Promise<StartOutcome>;
  stopTeardown(name: string): Promise<StopOutcome>;
};

/** Completes `.waitForTaskToken` tasks of the teardown workflow. */
export type TaskTokenSink = {
  succeed(taskToken: string, output: Record<string, unknown>): Promise<TaskReportOutcome>;
  fail(taskToken: string, error: string, cause: string): Promise<TaskReportOutcome>;
};
