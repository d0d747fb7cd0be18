/**
 * Ports shared by several use cases. Domain code depends on these structural types only, never on @aws-sdk.
 * Adapters in ./adapters implement them; tests pass fakes.
 */

/** A Slack message as Stagecrew sends it: Block Kit blocks plus the plain-text fallback. */
export type SlackMessage = {
  channel: string;
  text: string;
  blocks?: readonly unknown[];
  threadTs?: string;
};

export type SlackPosted = { channel: string; ts: string };

export type SlackGateway = {
  postMessage(message: SlackMessage): Promise<SlackPosted>;
  updateMessage(message: SlackMessage & { ts: string }): Promise<void>;
  postEphemeral(message: SlackMessage & { user: string }): Promise<void>;
  openView(triggerId: string, view: unknown): Promise<void>;
};

export type EmailMessage = {
  to: readonly string[];
  subject: string;
  text: string;
  html?: string;
};

export type Mailer = {
  send(message: EmailMessage): Promise<{ messageId: string }>;
};

/**
 * How the domain logs (one shape for every use case): the Powertools Logger satisfies it; tests pass a silent or a
 * recording one. Never log whole events or secrets.
 */
export type Log = {
  info(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
  error(message: string, extra: Record<string, unknown>): void;
};
/** A use case that only ever warns takes just this. */
export type Warn = (message: string, extra?: Record<string, unknown>) => void;

export type Clock = { now(): Date };
export const systemClock: Clock = { now: () => new Date() };

/** Publishes Stagecrew's own events (`source: stagecrew`) to the default bus. */
export type EventPublisher = {
  publish(detailType: string, detail: Record<string, unknown>, resources?: readonly string[]): Promise<void>;
};

/** A source revision of a pipeline execution (commit id and message), as GetPipelineExecution reports it. */
export type SourceRevision = {
  actionName: string;
  revisionId?: string;
  revisionSummary?: string;
  revisionUrl?: string;
  /** When the revision was created (a commit's time), ISO 8601. */
  created?: string;
};

export type PipelineExecutionInfo = {
  pipelineName: string;
  pipelineExecutionId: string;
  status: string;
  statusSummary?: string;
  executionMode?: string;
  trigger?: { triggerType?: string; triggerDetail?: string };
  sourceRevisions: SourceRevision[];
};

/** One action execution as ListActionExecutions reports it (the fields Stagecrew reads). */
export type ActionExecutionInfo = {
  pipelineExecutionId: string;
  actionExecutionId: string;
  stageName: string;
  actionName: string;
  status: string;
  startTime?: Date;
  lastUpdateTime?: Date;
  category?: string;
  provider?: string;
  /** Resolved action configuration (e.g. StackName of a CloudFormation action). */
  configuration?: Record<string, string>;
  /** The role the action ran with (a cross-account action's role is in the target account) and its region. */
  roleArn?: string;
  region?: string;
  externalExecutionId?: string;
  externalExecutionUrl?: string;
  externalExecutionSummary?: string;
  errorDetails?: { code?: string; message?: string };
  outputVariables?: Record<string, string>;
};

/** The latest execution of one action inside GetPipelineState. */
export type ActionStateInfo = {
  stageName: string;
  actionName: string;
  status?: string;
  token?: string;
  pipelineExecutionId?: string;
  lastStatusChange?: Date;
  externalExecutionId?: string;
  summary?: string;
  errorDetails?: { code?: string; message?: string };
};

export type PipelineStateInfo = {
  pipelineName: string;
  pipelineVersion?: number;
  stages: Array<{
    stageName: string;
    latestExecution?: { pipelineExecutionId: string; status: string };
    actions: ActionStateInfo[];
  }>;
};

export type ApprovalResult = { status: 'Approved' | 'Rejected'; summary: string };

export type PipelineGateway = {
  getPipelineState(pipelineName: string): Promise<PipelineStateInfo>;
  /** An action's declared configuration (GetPipeline), `undefined` when the pipeline has no such action. */
  getActionConfiguration(
    pipelineName: string,
    stageName: string,
    actionName: string,
  ): Promise<Record<string, string> | undefined>;
  getPipelineExecution(pipelineName: string, executionId: string): Promise<PipelineExecutionInfo>;
  /** All action executions of one pipeline execution (pages followed). */
  listActionExecutions(pipelineName: string, executionId: string): Promise<ActionExecutionInfo[]>;
  /** The most recent action executions of a pipeline across executions (one page, newest first). */
  listRecentActionExecutions(pipelineName: string): Promise<ActionExecutionInfo[]>;
  /** Returns CodePipeline's `approvedAt`. */
  putApprovalResult(input: {
    pipelineName: string;
    stageName: string;
    actionName: string;
    token: string;
    result: ApprovalResult;
  }): Promise<{ approvedAt?: Date }>;
};
