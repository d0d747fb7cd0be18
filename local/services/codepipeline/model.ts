/**
 * Records the local CodePipeline keeps in the durable store. Everything an execution needs to resume after a
 * restart lives in its record: a snapshot of the pipeline declaration it started with, per-stage and per-action
 * progress, namespaces and artifact locations.
 */
import { randomUUID } from 'node:crypto';

export const NS = {
  pipelines: 'codepipeline:pipelines',
  executions: 'codepipeline:executions',
  jobs: 'codepipeline:jobs',
  logs: 'codepipeline:logs',
  sourceHeads: 'codepipeline:source-heads',
  tokens: 'codepipeline:client-tokens',
} as const;

export type ActionTypeId = { category: string; owner: string; provider: string; version: string };
export type ArtifactRef = { name: string };

export type ActionDeclaration = {
  name: string;
  actionTypeId: ActionTypeId;
  runOrder?: number;
  configuration?: Record<string, string>;
  outputArtifacts?: ArtifactRef[];
  inputArtifacts?: ArtifactRef[];
  roleArn?: string;
  region?: string;
  namespace?: string;
  timeoutInMinutes?: number;
  commands?: string[];
  outputVariables?: string[];
};

export type StageDeclaration = {
  name: string;
  actions: ActionDeclaration[];
  blockers?: unknown[];
  onFailure?: unknown;
  onSuccess?: unknown;
  beforeEntry?: unknown;
};

export type GitFilter = { includes?: string[]; excludes?: string[] };
export type TriggerDeclaration = {
  providerType: string;
  gitConfiguration: {
    sourceActionName: string;
    push?: Array<{ branches?: GitFilter; filePaths?: GitFilter; tags?: GitFilter }>;
    pullRequest?: unknown[];
  };
};

export type PipelineDeclaration = {
  name: string;
  roleArn: string;
  artifactStore?: { type: string; location: string; encryptionKey?: unknown };
  artifactStores?: Record<string, { type: string; location: string }>;
  stages: StageDeclaration[];
  version?: number;
  executionMode?: ExecutionMode;
  pipelineType?: 'V1' | 'V2';
  variables?: Array<{ name: string; defaultValue?: string; description?: string }>;
  triggers?: TriggerDeclaration[];
};

export type ExecutionMode = 'SUPERSEDED' | 'QUEUED' | 'PARALLEL';

export type TransitionState = {
  enabled: boolean;
  lastChangedBy?: string;
  lastChangedAt?: number;
  disabledReason?: string;
};

export type PipelineRecord = {
  declaration: PipelineDeclaration;
  arn: string;
  created: number;
  updated: number;
  tags: Array<{ key: string; value: string }>;
  /** Inbound transition per stage name; absent means enabled. */
  transitions: Record<string, TransitionState>;
};

export type ExecutionStatus =
  | 'InProgress'
  | 'Stopping'
  | 'Stopped'
  | 'Succeeded'
  | 'Superseded'
  | 'Failed'
  | 'Cancelled';
export type StageStatus = 'InProgress' | 'Stopping' | 'Stopped' | 'Succeeded' | 'Failed' | 'Cancelled';
export type ActionStatus = 'InProgress' | 'Abandoned' | 'Succeeded' | 'Failed';

export type S3Location = { bucket: string; key: string };
export type ArtifactLocation = {
  name: string;
  s3location: S3Location;
  revisionId?: string;
  revisionSummary?: string;
  /** ISO 8601: when the revision was created (a commit's committer date). */
  revisionCreated?: string;
};

export type ActionRun = {
  actionExecutionId: string;
  status: ActionStatus;
  runOrder: number;
  startTime: number;
  lastUpdateTime: number;
  resolvedConfiguration: Record<string, string>;
  inputArtifacts: ArtifactLocation[];
  outputArtifacts: ArtifactLocation[];
  summary?: string;
  externalExecutionId?: string;
  externalExecutionUrl?: string;
  errorDetails?: { code: string; message: string };
  outputVariables?: Record<string, string>;
  /** Approval token (Manual approval actions). */
  token?: string;
  /** Current job id (Invoke actions); a continuation replaces it. */
  jobId?: string;
  /** Epoch ms after which the action fails (approval timeout, job timeout). */
  deadline?: number;
  lastUpdatedBy?: string;
};

export type StageRun = {
  status: StageStatus;
  attempt: number;
  actions: Record<string, ActionRun>;
  /** Action runs of earlier attempts that a RetryStageExecution replaced: ListActionExecutions keeps them. */
  history?: Array<ActionRun & { actionName: string }>;
};

export type ExecutionRecord = {
  pipelineExecutionId: string;
  pipelineName: string;
  pipelineVersion: number;
  pipeline: PipelineDeclaration;
  pipelineArn: string;
  executionMode: ExecutionMode;
  status: ExecutionStatus;
  statusSummary?: string;
  startTime: number;
  lastUpdateTime: number;
  /** Monotonic start order, for FIFO queues and supersession. */
  seq: number;
  trigger: { triggerType: string; triggerDetail?: string };
  variables: Record<string, string>;
  /** Index of the stage the execution is in (or last left); -1 before the first stage. */
  stageIndex: number;
  /** Index of the stage the execution waits to enter (locked or transition disabled). */
  waitingFor?: number;
  stages: Record<string, StageRun>;
  namespaces: Record<string, Record<string, string>>;
  artifacts: Record<string, ArtifactLocation>;
  /** Source revisions pinned at start (action name → commit id / version). */
  sourceRevisions: Record<string, string>;
  stop?: { abandon: boolean; reason?: string };
};

export type JobRecord = {
  jobId: string;
  pipelineExecutionId: string;
  stageName: string;
  actionName: string;
  status: 'InProgress' | 'Succeeded' | 'Failed' | 'Superseded';
  data: Record<string, unknown>;
  nonce: string;
};

export const newId = (): string => randomUUID();
export const epochSeconds = (ms: number): number => Math.round(ms) / 1000;
export const TERMINAL: ReadonlySet<ExecutionStatus> = new Set([
  'Stopped',
  'Succeeded',
  'Superseded',
  'Failed',
  'Cancelled',
]);
