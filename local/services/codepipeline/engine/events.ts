/**
 * The three CodePipeline EventBridge detail types, shaped as AWS documents the emitted (not "processed") form:
 * `detail.version` is the pipeline version, `execution-id` the execution UUID, action events carry `type`,
 * `region`, artifacts with `s3location`, and `execution-result` on completion.
 */
import type { EventEntry } from '../../types.ts';
import type { ActionDeclaration, ActionRun, ExecutionRecord } from '../model.ts';

export type PipelineState =
  | 'STARTED'
  | 'STOPPING'
  | 'STOPPED'
  | 'SUCCEEDED'
  | 'FAILED'
  | 'SUPERSEDED'
  | 'CANCELED'
  | 'RESUMED';
export type StageState = 'STARTED' | 'STOPPING' | 'STOPPED' | 'SUCCEEDED' | 'FAILED' | 'CANCELED' | 'RESUMED';
export type ActionState = 'STARTED' | 'SUCCEEDED' | 'FAILED' | 'ABANDONED' | 'CANCELED';

const entry = (
  exec: ExecutionRecord,
  detailType: string,
  detail: Record<string, unknown>,
  time: number,
): EventEntry => ({
  Source: 'aws.codepipeline',
  DetailType: detailType,
  Detail: JSON.stringify(detail),
  Resources: [exec.pipelineArn],
  Time: new Date(time).toISOString(),
});

export function pipelineEvent(exec: ExecutionRecord, state: PipelineState, time: number): EventEntry {
  const detail: Record<string, unknown> = {
    pipeline: exec.pipelineName,
    'execution-id': exec.pipelineExecutionId,
    'start-time': new Date(exec.startTime).toISOString(),
    state,
    version: exec.pipelineVersion,
    'pipeline-execution-attempt': 1,
  };
  if (state === 'STARTED') {
    detail['execution-trigger'] = {
      'trigger-type': exec.trigger.triggerType,
      ...(exec.trigger.triggerDetail ? { 'trigger-detail': exec.trigger.triggerDetail } : {}),
    };
  }
  if ((state === 'STOPPING' || state === 'STOPPED') && exec.stop?.reason)
    detail['stop-execution-comments'] = exec.stop.reason;
  return entry(exec, 'CodePipeline Pipeline Execution State Change', detail, time);
}

export function stageEvent(exec: ExecutionRecord, stage: string, state: StageState, time: number): EventEntry {
  return entry(
    exec,
    'CodePipeline Stage Execution State Change',
    {
      pipeline: exec.pipelineName,
      'execution-id': exec.pipelineExecutionId,
      'start-time': new Date(exec.startTime).toISOString(),
      stage,
      state,
      version: exec.pipelineVersion,
      'pipeline-execution-attempt': 1,
    },
    time,
  );
}

export function actionEvent(
  exec: ExecutionRecord,
  stage: string,
  action: ActionDeclaration,
  run: ActionRun,
  state: ActionState,
  region: string,
  time: number,
): EventEntry {
  const detail: Record<string, unknown> = {
    pipeline: exec.pipelineName,
    'execution-id': exec.pipelineExecutionId,
    'start-time': new Date(exec.startTime).toISOString(),
    stage,
    'action-execution-id': run.actionExecutionId,
    action: action.name,
    state,
    region: action.region ?? region,
    type: { ...action.actionTypeId },
    version: exec.pipelineVersion,
    'pipeline-execution-attempt': 1,
  };
  if (run.inputArtifacts.length)
    detail['input-artifacts'] = run.inputArtifacts.map(({ name, s3location }) => ({ name, s3location }));
  if (state !== 'STARTED') {
    const result: Record<string, unknown> = {};
    if (run.externalExecutionUrl) result['external-execution-url'] = run.externalExecutionUrl;
    if (run.summary) result['external-execution-summary'] = run.summary;
    if (run.externalExecutionId) result['external-execution-id'] = run.externalExecutionId;
    if (run.errorDetails) result['error-code'] = run.errorDetails.code;
    if (Object.keys(result).length) detail['execution-result'] = result;
    if (state === 'SUCCEEDED' && run.outputArtifacts.length) {
      detail['output-artifacts'] = run.outputArtifacts.map(({ name, s3location }) => ({ name, s3location }));
    }
  }
  return entry(exec, 'CodePipeline Action Execution State Change', detail, time);
}
