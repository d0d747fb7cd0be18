/** Read models: how pipeline records and executions look in GetPipelineState, ListActionExecutions, … */
import {
  type ActionRun,
  type ExecutionRecord,
  epochSeconds,
  type PipelineDeclaration,
  type PipelineRecord,
  TERMINAL,
} from '../model.ts';

export function declarationView(record: PipelineRecord): PipelineDeclaration {
  return record.declaration;
}

export function metadataView(record: PipelineRecord): Record<string, unknown> {
  return { pipelineArn: record.arn, created: epochSeconds(record.created), updated: epochSeconds(record.updated) };
}

function actionExecutionView(run: ActionRun, exec: ExecutionRecord): Record<string, unknown> {
  const view: Record<string, unknown> = {
    actionExecutionId: run.actionExecutionId,
    status: run.status,
    lastStatusChange: epochSeconds(run.lastUpdateTime),
  };
  if (run.summary !== undefined) view.summary = run.summary;
  // In PARALLEL mode AWS hides the token; the approval is addressed by externalExecutionId instead.
  if (run.token && run.status === 'InProgress' && exec.executionMode !== 'PARALLEL') view.token = run.token;
  if (run.externalExecutionId) view.externalExecutionId = run.externalExecutionId;
  if (run.externalExecutionUrl) view.externalExecutionUrl = run.externalExecutionUrl;
  if (run.lastUpdatedBy) view.lastUpdatedBy = run.lastUpdatedBy;
  if (run.errorDetails) view.errorDetails = run.errorDetails;
  return view;
}

/** GetPipelineState: per stage, the latest execution that entered it and its actions' latest runs. */
export function pipelineStateView(record: PipelineRecord, executions: ExecutionRecord[]): Record<string, unknown> {
  const decl = record.declaration;
  const newestFirst = [...executions].sort((a, b) => b.seq - a.seq);
  const stageStates = decl.stages.map((stage, index) => {
    const entered = newestFirst.find(
      (e) => e.stages[stage.name] !== undefined && e.pipeline.stages[index]?.name === stage.name,
    );
    const waiting = newestFirst.filter((e) => !TERMINAL.has(e.status) && e.waitingFor === index);
    const transition = record.transitions[stage.name];
    const state: Record<string, unknown> = {
      stageName: stage.name,
      inboundTransitionState: transition
        ? {
            enabled: transition.enabled,
            ...(transition.lastChangedBy ? { lastChangedBy: transition.lastChangedBy } : {}),
            ...(transition.lastChangedAt ? { lastChangedAt: epochSeconds(transition.lastChangedAt) } : {}),
            ...(transition.disabledReason ? { disabledReason: transition.disabledReason } : {}),
          }
        : { enabled: true },
      actionStates: stage.actions.map((action) => {
        const run = entered?.stages[stage.name]?.actions[action.name];
        const s: Record<string, unknown> = { actionName: action.name };
        if (run && entered) s.latestExecution = actionExecutionView(run, entered);
        if (run?.externalExecutionUrl) s.entityUrl = run.externalExecutionUrl;
        const revision = entered?.artifacts[action.outputArtifacts?.[0]?.name ?? '']?.revisionId;
        if (action.actionTypeId.category === 'Source' && revision) s.currentRevision = { revisionId: revision };
        return s;
      }),
    };
    if (waiting.length) {
      const w = waiting[0] as ExecutionRecord;
      state.inboundExecution = { pipelineExecutionId: w.pipelineExecutionId, status: 'InProgress' };
      state.inboundExecutions = waiting.map((e) => ({
        pipelineExecutionId: e.pipelineExecutionId,
        status: 'InProgress',
      }));
    }
    if (entered) {
      const stageRun = entered.stages[stage.name];
      state.latestExecution = { pipelineExecutionId: entered.pipelineExecutionId, status: stageRun?.status };
    }
    return state;
  });
  return {
    pipelineName: decl.name,
    pipelineVersion: decl.version,
    stageStates,
    created: epochSeconds(record.created),
    updated: epochSeconds(record.updated),
  };
}

function sourceRevisions(exec: ExecutionRecord): Array<Record<string, unknown>> {
  const first = exec.pipeline.stages[0];
  return (first?.actions ?? []).flatMap((action) => {
    const loc = exec.artifacts[action.outputArtifacts?.[0]?.name ?? ''];
    return loc?.revisionId
      ? [{ actionName: action.name, revisionId: loc.revisionId, revisionSummary: loc.revisionSummary }]
      : [];
  });
}

export function executionView(exec: ExecutionRecord): Record<string, unknown> {
  return {
    pipelineName: exec.pipelineName,
    pipelineVersion: exec.pipelineVersion,
    pipelineExecutionId: exec.pipelineExecutionId,
    status: exec.status,
    ...(exec.statusSummary ? { statusSummary: exec.statusSummary } : {}),
    artifactRevisions: Object.values(exec.artifacts)
      .filter((a) => a.revisionId)
      .map((a) => ({
        name: a.name,
        revisionId: a.revisionId,
        revisionSummary: a.revisionSummary,
        ...(a.revisionCreated ? { created: epochSeconds(Date.parse(a.revisionCreated)) } : {}),
      })),
    variables: Object.entries(exec.variables).map(([name, resolvedValue]) => ({ name, resolvedValue })),
    trigger: exec.trigger,
    executionMode: exec.executionMode,
    executionType: 'STANDARD',
  };
}

export function executionSummaryView(exec: ExecutionRecord): Record<string, unknown> {
  return {
    pipelineExecutionId: exec.pipelineExecutionId,
    status: exec.status,
    ...(exec.statusSummary ? { statusSummary: exec.statusSummary } : {}),
    startTime: epochSeconds(exec.startTime),
    lastUpdateTime: epochSeconds(exec.lastUpdateTime),
    sourceRevisions: sourceRevisions(exec),
    trigger: exec.trigger,
    ...(exec.stop ? { stopTrigger: { reason: exec.stop.reason ?? '' } } : {}),
    executionMode: exec.executionMode,
    executionType: 'STANDARD',
  };
}

export function actionExecutionDetails(exec: ExecutionRecord, region: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const stage of exec.pipeline.stages) {
    const stageRun = exec.stages[stage.name];
    if (!stageRun) continue;
    // Earlier attempts first: the list is reversed below, newest first.
    const runs = [
      ...(stageRun.history ?? []).flatMap((run) => {
        const action = stage.actions.find((a) => a.name === run.actionName);
        return action ? [{ action, run }] : [];
      }),
      ...stage.actions.flatMap((action) => {
        const run = stageRun.actions[action.name];
        return run ? [{ action, run }] : [];
      }),
    ];
    for (const { action, run } of runs) {
      const executionResult: Record<string, unknown> = {};
      if (run.externalExecutionId) executionResult.externalExecutionId = run.externalExecutionId;
      if (run.summary) executionResult.externalExecutionSummary = run.summary;
      if (run.externalExecutionUrl) executionResult.externalExecutionUrl = run.externalExecutionUrl;
      if (run.errorDetails) executionResult.errorDetails = run.errorDetails;
      out.push({
        pipelineExecutionId: exec.pipelineExecutionId,
        actionExecutionId: run.actionExecutionId,
        pipelineVersion: exec.pipelineVersion,
        stageName: stage.name,
        actionName: action.name,
        startTime: epochSeconds(run.startTime),
        lastUpdateTime: epochSeconds(run.lastUpdateTime),
        ...(run.lastUpdatedBy ? { updatedBy: run.lastUpdatedBy } : {}),
        status: run.status,
        input: {
          actionTypeId: action.actionTypeId,
          configuration: action.configuration ?? {},
          resolvedConfiguration: run.resolvedConfiguration,
          roleArn: action.roleArn ?? exec.pipeline.roleArn,
          region: action.region ?? region,
          inputArtifacts: run.inputArtifacts.map(({ name, s3location }) => ({ name, s3location })),
          ...(action.namespace ? { namespace: action.namespace } : {}),
        },
        output: {
          outputArtifacts:
            run.status === 'Succeeded' ? run.outputArtifacts.map(({ name, s3location }) => ({ name, s3location })) : [],
          executionResult,
          outputVariables: run.outputVariables ?? {},
        },
      });
    }
  }
  return out.reverse();
}
