/**
 * Pipeline definitions for tests and benches that drive the local CodePipeline (stage and action builders that
 * produce the same JSON CreatePipeline takes), and waits on what a pipeline execution starts.
 */
import {
  type CodePipelineClient,
  GetPipelineExecutionCommand,
  GetPipelineStateCommand,
  PutApprovalResultCommand,
} from '@aws-sdk/client-codepipeline';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  type ExecutionListItem,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { waitFor } from './local-cloud.ts';

export const PIPELINE_ROLE = 'arn:aws:iam::123456789012:role/pipeline';
export const CFN_ROLE = 'arn:aws:iam::123456789012:role/cfn';
/** The stack name a release pipeline deploys its test stack under: one per execution. */
export const TEST_STACK = 'test-#{codepipeline.PipelineExecutionId}';

/** A stack of one SSM parameter: the smallest template the local CloudFormation creates and deletes. */
export const MARKER_STACK_TEMPLATE = [
  'Resources:',
  '  Marker:',
  '    Type: AWS::SSM::Parameter',
  '    Properties: { Type: String, Value: x }',
  '',
].join('\n');

/**
 * The app's stack for a release pipeline: parameters Url and Env, one SSM parameter, the Url as output (an
 * http-check reads `#{TestStack.Url}`).
 */
export const URL_STACK_TEMPLATE = [
  'Parameters:',
  '  Url: { Type: String }',
  '  Env: { Type: String }',
  'Resources:',
  '  Marker:',
  '    Type: AWS::SSM::Parameter',
  '    Properties: { Type: String, Value: !Ref Env }',
  'Outputs:',
  '  Url: { Value: !Ref Url }',
  '',
].join('\n');

export const actionType = (category: string, provider: string) => ({ category, owner: 'AWS', provider, version: '1' });

type Json = Record<string, unknown>;

/** `{ pipeline }` for CreatePipelineCommand: a V2 pipeline, artifacts in `<name>-artifacts` unless `artifactBucket`. */
export const pipelineDefinition = (
  name: string,
  stages: Json[],
  options: { artifactBucket?: string; variables?: Array<{ name: string; defaultValue: string }> } = {},
) => ({
  pipeline: {
    name,
    roleArn: PIPELINE_ROLE,
    artifactStore: { type: 'S3', location: options.artifactBucket ?? `${name}-artifacts` },
    pipelineType: 'V2',
    ...(options.variables ? { variables: options.variables } : {}),
    stages,
  },
});

/** A CodeCommit `Source` stage on branch main of `repository` (a name in STAGECREW_SOURCES), output SourceOutput. */
export const codeCommitSourceStage = (repository: string, configuration: Record<string, string> = {}) => ({
  name: 'Source',
  actions: [
    {
      name: 'Source',
      actionTypeId: actionType('Source', 'CodeCommit'),
      configuration: { RepositoryName: repository, BranchName: 'main', ...configuration },
      outputArtifacts: [{ name: 'SourceOutput' }],
    },
  ],
});

/** An S3 `Source` stage (the object `key` in `bucket`, not polled), output SourceOutput. */
export const s3SourceStage = (bucket: string, key: string) => ({
  name: 'Source',
  actions: [
    {
      name: 'Source',
      actionTypeId: actionType('Source', 'S3'),
      configuration: { S3Bucket: bucket, S3ObjectKey: key, PollForSourceChanges: 'false' },
      outputArtifacts: [{ name: 'SourceOutput' }],
    },
  ],
});

/** A stage of one Manual approval action named like the stage (`configuration` omitted when not given). */
export const manualApprovalStage = (name: string, configuration?: Record<string, string>) => ({
  name,
  actions: [{ name, actionTypeId: actionType('Approval', 'Manual'), ...(configuration ? { configuration } : {}) }],
});

/** An Invoke action of `functionName` (Stagecrew's InvokeActionFunction) with `params` as its UserParameters. */
export const invokeAction = (functionName: string, name: string, params: Json, runOrder?: number) => ({
  name,
  actionTypeId: actionType('Invoke', 'Lambda'),
  configuration: { FunctionName: functionName, UserParameters: JSON.stringify(params) },
  ...(runOrder === undefined ? {} : { runOrder }),
});

/** A CloudFormation deploy action (RoleArn filled in); `extra` adds inputArtifacts, namespace… */
export const cloudFormationAction = (name: string, configuration: Record<string, string>, extra: Json = {}) => ({
  name,
  actionTypeId: actionType('Deploy', 'CloudFormation'),
  configuration: { RoleArn: CFN_ROLE, ...configuration },
  ...extra,
});

/** Stagecrew's `register-test-stack` task for the execution's test stack. */
export const registerTestStackAction = (functionName: string, pipeline: string, runOrder: number) =>
  invokeAction(
    functionName,
    'Register',
    {
      task: 'register-test-stack',
      stackName: TEST_STACK,
      pipeline,
      executionId: '#{codepipeline.PipelineExecutionId}',
    },
    runOrder,
  );

/**
 * Stagecrew's `gate` task, closed by a freeze from the pipeline variable `freezeStart` to the end of 2099 (a run
 * started with `freezeStart` in the past fails its stage with `reason`).
 */
export const freezeGateAction = (functionName: string, reason: string, runOrder: number) =>
  invokeAction(
    functionName,
    'Gate',
    {
      task: 'gate',
      freezes: [{ start: '#{variables.freezeStart}', end: '2099-12-31', reason }],
      whenClosed: 'fail',
    },
    runOrder,
  );

/** The `freezeStart` variable freezeGateAction reads: no freeze unless a run overrides it. */
export const FREEZE_VARIABLES = [{ name: 'freezeStart', defaultValue: '2099-01-01' }];

/** Waits until the pipeline execution is no longer InProgress, and returns it. */
export const waitForExecutionEnd = (cp: CodePipelineClient, pipeline: string, executionId: string, timeoutMs: number) =>
  waitFor(async () => {
    const e = (
      await cp.send(new GetPipelineExecutionCommand({ pipelineName: pipeline, pipelineExecutionId: executionId }))
    ).pipelineExecution;
    return e?.status !== 'InProgress' ? e : undefined;
  }, timeoutMs);

/** Waits for a Step Functions execution (of any state machine) whose name `matches`. */
export const waitForWorkflowRun = (
  sfn: SFNClient,
  matches: (name: string) => boolean,
  timeoutMs: number,
): Promise<ExecutionListItem> =>
  waitFor(async () => {
    for (const m of (await sfn.send(new ListStateMachinesCommand({}))).stateMachines ?? []) {
      const runs = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: m.stateMachineArn }))).executions;
      const run = runs?.find((e) => matches(e.name ?? ''));
      if (run) return run;
    }
    return undefined;
  }, timeoutMs);

/** Waits for the teardown Stagecrew starts for one failed execution (named `<pipeline>--<executionId>`). */
export const waitForTeardownRun = (sfn: SFNClient, pipeline: string, executionId: string, timeoutMs: number) =>
  waitForWorkflowRun(sfn, (name) => name === `${pipeline}--${executionId}`, timeoutMs);

/** Waits until a Step Functions execution is no longer RUNNING, and returns its description. */
export const waitForWorkflowEnd = (
  sfn: SFNClient,
  executionArn: string | undefined,
  timeoutMs: number,
): Promise<DescribeExecutionCommandOutput> =>
  waitFor(async () => {
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    return d.status !== 'RUNNING' ? d : undefined;
  }, timeoutMs);

/** The execution waiting in the Manual approval stage `stage` (named like its action) and its token, if any. */
export const waitingApproval = async (cp: CodePipelineClient, pipeline: string, stage: string) => {
  const state = await cp.send(new GetPipelineStateCommand({ name: pipeline }));
  const s = state.stageStates?.find((x) => x.stageName === stage);
  const id = s?.latestExecution?.pipelineExecutionId;
  const token = s?.actionStates?.[0]?.latestExecution?.token;
  return s?.latestExecution?.status === 'InProgress' && id && token ? { executionId: id, token } : undefined;
};

/** Rejects the approval action named like its stage, which fails the execution. */
export const rejectApproval = (
  cp: CodePipelineClient,
  pipeline: string,
  stage: string,
  token: string,
  summary: string,
) =>
  cp.send(
    new PutApprovalResultCommand({
      pipelineName: pipeline,
      stageName: stage,
      actionName: stage,
      token,
      result: { status: 'Rejected', summary },
    }),
  );
