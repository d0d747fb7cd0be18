/**
 * The CodePipeline API operations (awsJson 1.1, `CodePipeline_20150709.<Operation>`): pipelines and executions
 * here, reported results in results.ts, stage control in stages.ts.
 */
import type { LocalContext, Operation } from '../../types.ts';
import type { Engine } from '../engine/engine.ts';
import { pipelineEvent, stageEvent } from '../engine/events.ts';
import { executionVariables } from '../engine/variables.ts';
import { type ExecutionRecord, NS, newId, type PipelineRecord } from '../model.ts';
import { err, lookups } from './lookup.ts';
import { resultOperations } from './results.ts';
import { stageOperations } from './stages.ts';
import { requireName, validatePipeline, validation } from './validate.ts';
import {
  actionExecutionDetails,
  executionSummaryView,
  executionView,
  metadataView,
  pipelineStateView,
} from './views.ts';

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
  const { pipelineOr404, executionOr404 } = lookups(engine);

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
      requireProviders(decl, engine);
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
      warnUnsupported(ctx, record.declaration);
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
      requireProviders(decl, engine);
      const version = (record.declaration.version ?? 1) + 1;
      const names = new Set(decl.stages.map((s) => s.name));
      const updated: PipelineRecord = {
        ...record,
        declaration: { ...decl, version },
        updated: engine.now(),
        transitions: Object.fromEntries(Object.entries(record.transitions).filter(([s]) => names.has(s))),
      };
      ctx.store.put(NS.pipelines, decl.name, updated);
      warnUnsupported(ctx, updated.declaration);
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

    // Tags on pipelines (CodePipeline API reference: TagResource, UntagResource, ListTagsForResource).
    TagResource(input: { resourceArn?: unknown; tags?: unknown }, ctx) {
      engine.bind(ctx);
      const record = taggedPipeline(ctx, input.resourceArn);
      if (!Array.isArray(input.tags)) throw validation('tags is required');
      const byKey = new Map(record.tags.map((t) => [t.key, t.value]));
      for (const t of input.tags as Array<{ key?: unknown; value?: unknown }>) {
        if (typeof t?.key !== 'string' || t.key.length < 1 || t.key.length > 128) {
          throw err('InvalidTagsException', 'Tag keys must be 1-128 characters');
        }
        if (typeof t.value !== 'string' || t.value.length > 256) {
          throw err('InvalidTagsException', 'Tag values must be at most 256 characters');
        }
        byKey.set(t.key, t.value);
      }
      if (byKey.size > 50) throw err('TooManyTagsException', 'The tags limit for a resource has been exceeded');
      record.tags = [...byKey].map(([key, value]) => ({ key, value }));
      ctx.store.put(NS.pipelines, record.declaration.name, record);
      return {};
    },

    UntagResource(input: { resourceArn?: unknown; tagKeys?: unknown }, ctx) {
      engine.bind(ctx);
      const record = taggedPipeline(ctx, input.resourceArn);
      if (!Array.isArray(input.tagKeys)) throw validation('tagKeys is required');
      const drop = new Set(input.tagKeys);
      record.tags = record.tags.filter((t) => !drop.has(t.key));
      ctx.store.put(NS.pipelines, record.declaration.name, record);
      return {};
    },

    ListTagsForResource(input: { resourceArn?: unknown; maxResults?: number; nextToken?: string }, ctx) {
      engine.bind(ctx);
      const record = taggedPipeline(ctx, input.resourceArn);
      const { items, nextToken } = page(record.tags, input, 100);
      return { tags: items, ...(nextToken ? { nextToken } : {}) };
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

    ...resultOperations(engine),
    ...stageOperations(engine),
  };

  return { operations: ops, start };
}

/** Parts of a declaration the local engine accepts but does not act on: say so once, where the cloud logs. */
/**
 * Conditions are accepted and not evaluated (a warning says so). An action type the local cloud has no provider for
 * is refused here, as AWS refuses an action type that is not available, rather than failing at run time.
 */
function warnUnsupported(ctx: LocalContext, decl: PipelineRecord['declaration']): void {
  for (const stage of decl.stages) {
    for (const key of ['beforeEntry', 'onFailure', 'onSuccess'] as const) {
      if (stage[key] !== undefined)
        ctx.log.warn(`codepipeline: stage ${key} conditions are not evaluated locally`, {
          pipeline: decl.name,
          stage: stage.name,
        });
    }
  }
}

/** The pipeline a resource ARN names (`arn:aws:codepipeline:<region>:<account>:<name>`). */
function taggedPipeline(ctx: LocalContext, arn: unknown): PipelineRecord {
  const m =
    typeof arn === 'string' ? /^arn:aws[\w-]*:codepipeline:[a-z0-9-]+:(\d{12}):([A-Za-z0-9.@\-_]+)$/.exec(arn) : null;
  if (!m) throw err('InvalidArnException', `The ARN ${String(arn)} is not valid`);
  const record = ctx.store.get<PipelineRecord>(NS.pipelines, m[2] as string);
  if (!record || record.arn !== arn) {
    throw err('ResourceNotFoundException', `The resource with the ARN ${String(arn)} cannot be found`);
  }
  return record;
}

function requireProviders(decl: PipelineRecord['declaration'], engine: Engine): void {
  for (const stage of decl.stages) {
    for (const action of stage.actions) {
      const t = action.actionTypeId;
      if (!engine.providers[`${t.category}/${t.owner}/${t.provider}`]) {
        throw err(
          'InvalidActionDeclarationException',
          `ActionType (Category: '${t.category}', Provider: '${t.provider}', Owner: '${t.owner}', Version: '${t.version}') in action '${action.name}' is not available in the local cloud`,
        );
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
