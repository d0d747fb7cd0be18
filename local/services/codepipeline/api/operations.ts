/** The CodePipeline API operations (awsJson 1.1, `CodePipeline_20150709.<Operation>`). */

import { AwsError, type LocalContext, type Operation } from '../../types.ts';
import type { Engine } from '../engine/engine.ts';
import { pipelineEvent, stageEvent } from '../engine/events.ts';
import { executionVariables } from '../engine/variables.ts';
import { type ExecutionRecord, type JobRecord, NS, newId, type PipelineRecord, TERMINAL } from '../model.ts';
import { requireName, validatePipeline, validation } from './validate.ts';
import {
  actionExecutionDetails,
  executionSummaryView,
  executionView,
  metadataView,
  pipelineStateView,
} from './views.ts';

const err = (code: string, message: string) => new AwsError(code, message);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function page<T>(
  items: T[],
  input: { maxResults?: number; nextToken?: string },
  max = 100,
): { items: T[]; nextToken?: string } {
  const start = input.nextToken ? Number.parseInt(Buffer.from(input.nextToken, 'base64url').toString(), 10) : 0;
  if (!Number.isInteger(start) || start < 0) throw err('InvalidNextTokenException', 'The next token is not valid');
  const size = Math.min(input.maxResults ?? max, max);
  if (!Number.isInteger(size) || size < 1) throw validation('maxResults must be at least 1');
  const slice = items.slice(start, start + size);
  return start + size < items.length
    ? { items: slice, nextToken: Buffer.from(String(start + size)).toString('base64url') }
    : { items: slice };
}

export type Api = {
  operations: Record<string, Operation>;
  start(
    ctx: LocalContext,
    record: PipelineRecord,
    trigger: ExecutionRecord['trigger'],
    variables?: Array<{ name: string; value: string }>,
    sourceRevisions?: Record<string, string>,
  ): string;
};

export function createOperations(engine: Engine): Api {
  const pipelineOr404 = (ctx: LocalContext, name: unknown, field = 'name'): PipelineRecord => {
    const n = requireName(name, field);
    const record = ctx.store.get<PipelineRecord>(NS.pipelines, n);
    if (!record) throw err('PipelineNotFoundException', `Pipeline ${n} not found`);
    return record;
  };
  const executionOr404 = (ctx: LocalContext, pipelineName: string, id: unknown): ExecutionRecord => {
    const exec = typeof id === 'string' ? ctx.store.get<ExecutionRecord>(NS.executions, id) : undefined;
    if (!exec || exec.pipelineName !== pipelineName) {
      throw err(
        'PipelineExecutionNotFoundException',
        `Pipeline execution ${String(id)} not found in pipeline ${pipelineName}`,
      );
    }
    return exec;
  };
  const stageIndex = (record: PipelineRecord, stageName: unknown): number => {
    const i = record.declaration.stages.findIndex((s) => s.name === stageName);
    if (i < 0)
      throw err(
        'StageNotFoundException',
        `Stage ${String(stageName)} not found in pipeline ${record.declaration.name}`,
      );
    return i;
  };

  /** Starts an execution; shared by StartPipelineExecution, CreatePipeline and source change detection. */
  const start = (
    _ctx: LocalContext,
    record: PipelineRecord,
    trigger: ExecutionRecord['trigger'],
    variables?: Array<{ name: string; value: string }>,
    sourceRevisions: Record<string, string> = {},
  ): string => {
    const vars = executionVariables(record.declaration.variables, variables);
    if ('error' in vars && typeof vars.error === 'string') throw validation(vars.error);
    const now = engine.now();
    const decl = record.declaration;
    const exec: ExecutionRecord = {
      pipelineExecutionId: newId(),
      pipelineName: decl.name,
      pipelineVersion: decl.version ?? 1,
      pipeline: decl,
      pipelineArn: record.arn,
      executionMode: decl.executionMode ?? 'SUPERSEDED',
      status: 'InProgress',
      startTime: now,
      lastUpdateTime: now,
      seq: engine.nextSeq(),
      trigger,
      variables: vars as Record<string, string>,
      stageIndex: -1,
      stages: {},
      namespaces: {},
      artifacts: {},
      sourceRevisions,
    };
    engine.launch(exec);
    return exec.pipelineExecutionId;
  };

  const ops: Record<string, Operation> = {
    CreatePipeline(input: { pipeline?: unknown; tags?: Array<{ key: string; value: string }> }, ctx) {
      engine.bind(ctx);
      const decl = validatePipeline(input.pipeline);
      if (ctx.store.get(NS.pipelines, decl.name))
        throw err('PipelineNameInUseException', `Pipeline name ${decl.name} is already in use`);
      const now = engine.now();
      const record: PipelineRecord = {
        declaration: { ...decl, version: 1 },
        arn: `arn:aws:codepipeline:${ctx.region}:${ctx.accountId}:${decl.name}`,
        created: now,
        updated: now,
        tags: input.tags ?? [],
        transitions: {},
      };
      ctx.store.put(NS.pipelines, decl.name, record);
      warnUnsupported(ctx, record.declaration, engine);
      // Like AWS, a new pipeline runs once right away.
      start(ctx, record, {
        triggerType: 'CreatePipeline',
        triggerDetail: `arn:aws:sts::${ctx.accountId}:assumed-role/local/local`,
      });
      return { pipeline: record.declaration, ...(record.tags.length ? { tags: record.tags } : {}) };
    },

    GetPipeline(input: { name?: string; version?: number }, ctx) {
      engine.bind(ctx);
      const record = pipelineOr404(ctx, input.name);
      if (input.version !== undefined && input.version !== record.declaration.version) {
        throw err('PipelineVersionNotFoundException', `Version ${input.version} of pipeline ${input.name} not found`);
      }
      return { pipeline: record.declaration, metadata: metadataView(record) };
    },

    UpdatePipeline(input: { pipeline?: unknown }, ctx) {
      engine.bind(ctx);
      const decl = validatePipeline(input.pipeline);
      const record = pipelineOr404(ctx, decl.name, 'pipeline.name');
      const version = (record.declaration.version ?? 1) + 1;
      const names = new Set(decl.stages.map((s) => s.name));
      const updated: PipelineRecord = {
        ...record,
        declaration: { ...decl, version },
        updated: engine.now(),
        transitions: Object.fromEntries(Object.entries(record.transitions).filter(([s]) => names.has(s))),
      };
      ctx.store.put(NS.pipelines, decl.name, updated);
      warnUnsupported(ctx, updated.declaration, engine);
      return { pipeline: updated.declaration };
    },

    DeletePipeline(input: { name?: string }, ctx) {
      engine.bind(ctx);
      const name = requireName(input.name, 'name');
      if (!ctx.store.get(NS.pipelines, name)) return {};
      engine.abandonAll(name);
      ctx.store.delete(NS.pipelines, name);
      ctx.store.delete(NS.sourceHeads, name);
      return {};
    },

    ListPipelines(input: { maxResults?: number; nextToken?: string }, ctx) {
      engine.bind(ctx);
      const all = ctx.store
        .list<PipelineRecord>(NS.pipelines)
        .map(([, r]) => r)
        .sort((a, b) => a.declaration.name.localeCompare(b.declaration.name));
      const { items, nextToken } = page(all, input, 1000);
      return {
        pipelines: items.map((r) => ({
          name: r.declaration.name,
          version: r.declaration.version,
          pipelineType: r.declaration.pipelineType,
          executionMode: r.declaration.executionMode,
          created: metadataView(r).created,
          updated: metadataView(r).updated,
        })),
        ...(nextToken ? { nextToken } : {}),
      };
    },

    StartPipelineExecution(
      input: { name?: string; variables?: Array<{ name: string; value: string }>; clientRequestToken?: string },
      ctx,
    ) {
      engine.bind(ctx);
      const record = pipelineOr404(ctx, input.name);
      if (input.variables !== undefined && !Array.isArray(input.variables))
        throw validation('variables must be a list');
      const tokenKey = input.clientRequestToken ? `${record.declaration.name}/${input.clientRequestToken}` : undefined;
      if (tokenKey) {
        const known = ctx.store.get<string>(NS.tokens, tokenKey);
        if (known) return { pipelineExecutionId: known };
      }
      const id = start(
        ctx,
        record,
        {
          triggerType: 'StartPipelineExecution',
          triggerDetail: `arn:aws:sts::${ctx.accountId}:assumed-role/local/local`,
        },
        input.variables,
      );
      if (tokenKey) ctx.store.put(NS.tokens, tokenKey, id);
      return { pipelineExecutionId: id };
    },

    StopPipelineExecution(
      input: { pipelineName?: string; pipelineExecutionId?: string; abandon?: boolean; reason?: string },
      ctx,
    ) {
      engine.bind(ctx);
      const record = pipelineOr404(ctx, input.pipelineName, 'pipelineName');
      const exec = executionOr404(ctx, record.declaration.name, input.pipelineExecutionId);
      if (exec.status === 'Stopping' && !input.abandon) {
        throw err('DuplicatedStopRequestException', `Execution ${exec.pipelineExecutionId} is already being stopped`);
      }
      if (exec.status !== 'InProgress' && exec.status !== 'Stopping') {
        throw err(
          'PipelineExecutionNotStoppableException',
          `Execution ${exec.pipelineExecutionId} is ${exec.status} and cannot be stopped`,
        );
      }
      if (input.reason !== undefined && (typeof input.reason !== 'string' || input.reason.length > 200))
        throw validation('reason must be at most 200 characters');
      const reason = input.reason ?? exec.stop?.reason;
      exec.stop = { abandon: input.abandon === true, ...(reason ? { reason } : {}) };
      const stage = exec.pipeline.stages[exec.stageIndex];
      const stageRun = stage && exec.waitingFor === undefined ? exec.stages[stage.name] : undefined;
      const actionsRunning = stageRun && Object.values(stageRun.actions).some((r) => r.status === 'InProgress');
      if (actionsRunning && !input.abandon && exec.status === 'InProgress') {
        exec.status = 'Stopping';
        if (stageRun) stageRun.status = 'Stopping';
        engine.save(exec);
        engine.emit([...(stage ? [stageEventOf(engine, exec, stage.name)] : []), pipelineEventOf(engine, exec)]);
      } else {
        engine.save(exec);
      }
      engine.advance(exec.pipelineExecutionId);
      return { pipelineExecutionId: exec.pipelineExecutionId };
    },

    GetPipelineState(input: { name?: string }, ctx) {
      engine.bind(ctx);
      const record = pipelineOr404(ctx, input.name);
      return pipelineStateView(record, engine.executionsOf(record.declaration.name));
    },

    GetPipelineExecution(input: { pipelineName?: string; pipelineExecutionId?: string }, ctx) {
      engine.bind(ctx);
      const record = pipelineOr404(ctx, input.pipelineName, 'pipelineName');
      return {
        pipelineExecution: executionView(executionOr404(ctx, record.declaration.name, input.pipelineExecutionId)),
      };
    },

    ListPipelineExecutions(input: { pipelineName?: string; maxResults?: number; nextToken?: string }, ctx) {
      engine.bind(ctx);
      const record = pipelineOr404(ctx, input.pipelineName, 'pipelineName');
      const all = engine.executionsOf(record.declaration.name).reverse();
      const { items, nextToken } = page(all, input);
      return { pipelineExecutionSummaries: items.map(executionSummaryView), ...(nextToken ? { nextToken } : {}) };
    },

    ListActionExecutions(
      input: {
        pipelineName?: string;
        filter?: { pipelineExecutionId?: string };
        maxResults?: number;
        nextToken?: string;
      },
      ctx,
    ) {
      engine.bind(ctx);
      const record = pipelineOr404(ctx, input.pipelineName, 'pipelineName');
      const id = input.filter?.pipelineExecutionId;
      const execs = id
        ? [executionOr404(ctx, record.declaration.name, id)]
        : engine.executionsOf(record.declaration.name).reverse();
      const all = execs.flatMap((e) => actionExecutionDetails(e, ctx.region));
      const { items, nextToken } = page(all, input);
      return { actionExecutionDetails: items, ...(nextToken ? { nextToken } : {}) };
    },

    PutApprovalResult(
      input: {
        pipelineName?: string;
        stageName?: string;
        actionName?: string;
        result?: { status?: string; summary?: string };
        token?: string;
      },
      ctx,
    ) {
      engine.bind(ctx);
      const record = pipelineOr404(ctx, input.pipelineName, 'pipelineName');
      const stage = record.declaration.stages[stageIndex(record, input.stageName)];
      const action = stage?.actions.find((a) => a.name === input.actionName);
      if (!stage || !action)
        throw err(
          'ActionNotFoundException',
          `Action ${String(input.actionName)} not found in stage ${String(input.stageName)}`,
        );
      if (action.actionTypeId.category !== 'Approval')
        throw err('ActionNotFoundException', `Action ${action.name} is not an approval action`);
      const status = input.result?.status;
      if (status !== 'Approved' && status !== 'Rejected')
        throw validation("result.status must be 'Approved' or 'Rejected'");
      if (typeof input.result?.summary !== 'string' || input.result.summary.length > 512)
        throw validation('result.summary is required and must be at most 512 characters');
      if (typeof input.token !== 'string' || !UUID.test(input.token)) throw validation('token must be a UUID');
      const exec = engine
        .executionsOf(record.declaration.name)
        .find((e) => e.stages[stage.name]?.actions[action.name]?.token === input.token);
      const run = exec?.stages[stage.name]?.actions[action.name];
      if (!exec || !run)
        throw err('InvalidApprovalTokenException', 'The approval request already received a response or has expired');
      if (run.status !== 'InProgress') {
        if (run.status === 'Succeeded' || (run.status === 'Failed' && run.lastUpdatedBy)) {
          throw err('ApprovalAlreadyCompletedException', 'The approval action has already been approved or rejected');
        }
        throw err('InvalidApprovalTokenException', 'The approval request already received a response or has expired');
      }
      if (TERMINAL.has(exec.status))
        throw err('InvalidApprovalTokenException', 'The approval request already received a response or has expired');
      const approvedAt = engine.now();
      const by = `arn:aws:sts::${ctx.accountId}:assumed-role/local/local`;
      const fresh = engine.execution(exec.pipelineExecutionId);
      const freshRun = fresh?.stages[stage.name]?.actions[action.name];
      if (fresh && freshRun) {
        freshRun.lastUpdatedBy = by;
        engine.save(fresh);
      }
      const summary = input.result.summary;
      void engine.complete(
        exec.pipelineExecutionId,
        stage.name,
        action.name,
        run.actionExecutionId,
        status === 'Approved'
          ? { status: 'Succeeded', summary: summary || 'Approved' }
          : { status: 'Failed', code: 'JobFailed', message: summary || 'Rejected' },
      );
      return { approvedAt: approvedAt / 1000 };
    },

    PutJobSuccessResult(
      input: {
        jobId?: string;
        currentRevision?: unknown;
        continuationToken?: string;
        executionDetails?: { summary?: string; externalExecutionId?: string; percentComplete?: number };
        outputVariables?: Record<string, string>;
      },
      ctx,
    ) {
      engine.bind(ctx);
      const job = jobOr404(ctx, input.jobId);
      if (input.continuationToken !== undefined && input.outputVariables !== undefined) {
        throw validation('outputVariables can only be set when there is no continuation token');
      }
      if (input.outputVariables) {
        for (const [k, v] of Object.entries(input.outputVariables)) {
          if (!/^[A-Za-z0-9@\-_]+$/.test(k) || typeof v !== 'string')
            throw err('OutputVariablesSizeExceededException', `Output variable ${k} is not valid`);
        }
        if (JSON.stringify(input.outputVariables).length > 122_880)
          throw err('OutputVariablesSizeExceededException', 'Output variables exceed 122880 characters');
      }
      ctx.store.put(NS.jobs, job.jobId, { ...job, status: 'Succeeded' });
      if (input.continuationToken !== undefined) {
        engine.continueJob(job, input.continuationToken, input.executionDetails);
        return {};
      }
      void engine.complete(job.pipelineExecutionId, job.stageName, job.actionName, actionIdOf(job), {
        status: 'Succeeded',
        ...(input.executionDetails?.summary ? { summary: input.executionDetails.summary } : {}),
        ...(input.executionDetails?.externalExecutionId
          ? { externalExecutionId: input.executionDetails.externalExecutionId }
          : {}),
        ...(input.outputVariables ? { outputVariables: input.outputVariables } : {}),
      });
      return {};
    },

    PutJobFailureResult(
      input: { jobId?: string; failureDetails?: { type?: string; message?: string; externalExecutionId?: string } },
      ctx,
    ) {
      engine.bind(ctx);
      const job = jobOr404(ctx, input.jobId);
      const types = [
        'JobFailed',
        'ConfigurationError',
        'PermissionError',
        'RevisionOutOfSync',
        'RevisionUnavailable',
        'SystemUnavailable',
      ];
      const d = input.failureDetails;
      if (
        !d ||
        !types.includes(d.type ?? '') ||
        typeof d.message !== 'string' ||
        d.message.length < 1 ||
        d.message.length > 5000
      ) {
        throw validation(`failureDetails needs a type (${types.join(' | ')}) and a message of 1-5000 characters`);
      }
      ctx.store.put(NS.jobs, job.jobId, { ...job, status: 'Failed' });
      void engine.complete(job.pipelineExecutionId, job.stageName, job.actionName, actionIdOf(job), {
        status: 'Failed',
        code: d.type as string,
        message: d.message,
        ...(d.externalExecutionId ? { externalExecutionId: d.externalExecutionId } : {}),
      });
      return {};
    },

    GetJobDetails(input: { jobId?: string }, ctx) {
      engine.bind(ctx);
      const job = ctx.store.get<JobRecord>(NS.jobs, input.jobId ?? '');
      if (!job) throw err('JobNotFoundException', `Job ${String(input.jobId)} not found`);
      return { jobDetails: { id: job.jobId, data: job.data, accountId: ctx.accountId } };
    },

    RetryStageExecution(
      input: { pipelineName?: string; stageName?: string; pipelineExecutionId?: string; retryMode?: string },
      ctx,
    ) {
      engine.bind(ctx);
      const record = pipelineOr404(ctx, input.pipelineName, 'pipelineName');
      const index = stageIndex(record, input.stageName);
      if (input.retryMode !== 'FAILED_ACTIONS' && input.retryMode !== 'ALL_ACTIONS')
        throw validation("retryMode must be 'FAILED_ACTIONS' or 'ALL_ACTIONS'");
      const exec = executionOr404(ctx, record.declaration.name, input.pipelineExecutionId);
      const stageName = input.stageName as string;
      const stageRun = exec.stages[stageName];
      if (
        exec.stageIndex !== index ||
        !stageRun ||
        !['Failed', 'Stopped'].includes(stageRun.status) ||
        !['Failed', 'Stopped'].includes(exec.status)
      ) {
        throw err(
          'StageNotRetryableException',
          `Stage ${stageName} of execution ${exec.pipelineExecutionId} is not in a failed or stopped state`,
        );
      }
      const latest = engine
        .executionsOf(record.declaration.name)
        .filter((e) => e.stages[stageName])
        .pop();
      if (latest?.pipelineExecutionId !== exec.pipelineExecutionId) {
        throw err(
          'NotLatestPipelineExecutionException',
          `Execution ${exec.pipelineExecutionId} is not the latest execution of stage ${stageName}`,
        );
      }
      if (exec.pipelineVersion !== record.declaration.version) {
        throw err(
          'StageNotRetryableException',
          'The pipeline was updated since this execution started; start a new execution instead',
        );
      }
      for (const [name, run] of Object.entries(stageRun.actions)) {
        if (input.retryMode === 'ALL_ACTIONS' || run.status !== 'Succeeded') delete stageRun.actions[name];
      }
      stageRun.status = 'InProgress';
      stageRun.attempt += 1;
      exec.status = 'InProgress';
      exec.statusSummary = undefined;
      exec.stop = undefined;
      engine.save(exec);
      engine.emit([resumed(engine, exec, 'pipeline'), resumed(engine, exec, stageName)]);
      engine.advance(exec.pipelineExecutionId);
      return { pipelineExecutionId: exec.pipelineExecutionId };
    },

    DisableStageTransition(
      input: { pipelineName?: string; stageName?: string; transitionType?: string; reason?: string },
      ctx,
    ) {
      engine.bind(ctx);
      const { record, target } = transitionTarget(ctx, input);
      if (typeof input.reason !== 'string' || input.reason.length < 1 || input.reason.length > 300)
        throw validation('reason is required (1-300 characters)');
      record.transitions[target] = {
        enabled: false,
        disabledReason: input.reason,
        lastChangedAt: engine.now(),
        lastChangedBy: `arn:aws:sts::${ctx.accountId}:assumed-role/local/local`,
      };
      ctx.store.put(NS.pipelines, record.declaration.name, record);
      return {};
    },

    EnableStageTransition(input: { pipelineName?: string; stageName?: string; transitionType?: string }, ctx) {
      engine.bind(ctx);
      const { record, target } = transitionTarget(ctx, input);
      record.transitions[target] = {
        enabled: true,
        lastChangedAt: engine.now(),
        lastChangedBy: `arn:aws:sts::${ctx.accountId}:assumed-role/local/local`,
      };
      ctx.store.put(NS.pipelines, record.declaration.name, record);
      engine.wake(record.declaration.name);
      return {};
    },
  };

  function transitionTarget(
    ctx: LocalContext,
    input: { pipelineName?: string; stageName?: string; transitionType?: string },
  ) {
    const record = pipelineOr404(ctx, input.pipelineName, 'pipelineName');
    const index = stageIndex(record, input.stageName);
    if (input.transitionType !== 'Inbound' && input.transitionType !== 'Outbound')
      throw validation("transitionType must be 'Inbound' or 'Outbound'");
    // The outbound transition of a stage is the inbound transition of the next one.
    const targetIndex = input.transitionType === 'Inbound' ? index : index + 1;
    const target = record.declaration.stages[targetIndex]?.name;
    if (!target || targetIndex === 0)
      throw validation(`Stage ${String(input.stageName)} has no ${input.transitionType.toLowerCase()} transition`);
    return { record, target };
  }

  function jobOr404(ctx: LocalContext, jobId: unknown): JobRecord {
    if (typeof jobId !== 'string' || !UUID.test(jobId)) throw validation('jobId must be a job id');
    const job = ctx.store.get<JobRecord>(NS.jobs, jobId);
    if (!job) throw err('JobNotFoundException', `Job ${jobId} not found`);
    if (job.status !== 'InProgress')
      throw err('InvalidJobStateException', `Job ${jobId} is ${job.status}; it no longer accepts results`);
    return job;
  }

  function actionIdOf(job: JobRecord): string {
    return (
      engine.execution(job.pipelineExecutionId)?.stages[job.stageName]?.actions[job.actionName]?.actionExecutionId ?? ''
    );
  }

  return { operations: ops, start };
}

/** Parts of a declaration the local engine accepts but does not act on: say so once, where the cloud logs. */
function warnUnsupported(ctx: LocalContext, decl: PipelineRecord['declaration'], engine: Engine): void {
  for (const stage of decl.stages) {
    for (const key of ['beforeEntry', 'onFailure', 'onSuccess'] as const) {
      if (stage[key] !== undefined)
        ctx.log.warn(`codepipeline: stage ${key} conditions are not evaluated locally`, {
          pipeline: decl.name,
          stage: stage.name,
        });
    }
    for (const action of stage.actions) {
      const t = action.actionTypeId;
      if (!engine.providers[`${t.category}/${t.owner}/${t.provider}`]) {
        ctx.log.warn('codepipeline: no local provider for this action type; the action will fail', {
          pipeline: decl.name,
          action: action.name,
          type: `${t.category}/${t.owner}/${t.provider}`,
        });
      }
    }
  }
}

function stageEventOf(engine: Engine, exec: ExecutionRecord, stage: string) {
  return stageEvent(exec, stage, 'STOPPING', engine.now());
}
function pipelineEventOf(engine: Engine, exec: ExecutionRecord) {
  return pipelineEvent(exec, 'STOPPING', engine.now());
}
function resumed(engine: Engine, exec: ExecutionRecord, what: string) {
  return what === 'pipeline'
    ? pipelineEvent(exec, 'RESUMED', engine.now())
    : stageEvent(exec, what, 'RESUMED', engine.now());
}
