import type { Invoker } from '../runtime/invoker.ts';
import type { Outbox, OutboxMessage } from '../runtime/outbox.ts';
import type { Scheduler } from '../runtime/scheduler.ts';
import type { LocalModel } from '../runtime/wiring.ts';
import type { DynamoDb } from '../services/dynamodb/index.ts';
import type { LocalContext } from '../services/types.ts';
import type { PipelineDelivery } from './delivery.ts';

/**
 * What the dashboard shows, gathered from the services through their own operations (so it sees what a client
 * would). Each section fails independently: a missing or broken service leaves its section empty with a note.
 */
export type Approval = {
  id: string;
  status: string;
  pipeline?: string;
  stage?: string;
  action?: string;
  createdAt?: string;
  expiresAt?: string;
  decidedBy?: unknown;
  links: string[];
};

export type DashboardState = {
  generatedAt: string;
  pipelines: Array<{ name: string; stages: unknown[]; executions: unknown[]; delivery?: PipelineDelivery }>;
  approvals: Approval[];
  stacks: Array<{ name: string; status: string; updatedAt?: string; reason?: string }>;
  teardownRuns: Array<{
    name: string;
    status: string;
    startDate?: unknown;
    stopDate?: unknown;
    stateMachine: string;
    /** A run waiting out its grace period (its `GraceWait` state): when the teardown starts, epoch ms. */
    graceEndsAt?: number;
  }>;
  outbox: OutboxMessage[];
  schedules: Array<{ name: string; expression: string; lastRunAt?: string; nextRunAt?: string }>;
  notes: string[];
};

type AttributeValue = Record<string, unknown>;

/** DynamoDB JSON → plain values. */
export const unmarshall = (av: AttributeValue): unknown => {
  if ('S' in av) return av.S;
  if ('N' in av) return Number(av.N);
  if ('BOOL' in av) return av.BOOL;
  if ('NULL' in av) return null;
  if ('L' in av) return (av.L as AttributeValue[]).map(unmarshall);
  if ('M' in av) return unmarshallItem(av.M as Record<string, AttributeValue>);
  if ('SS' in av) return av.SS;
  if ('NS' in av) return (av.NS as string[]).map(Number);
  return undefined;
};
export const unmarshallItem = (item: Record<string, AttributeValue>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(item).map(([k, v]) => [k, unmarshall(v)]));

const asString = (v: unknown) => (typeof v === 'string' ? v : v === undefined || v === null ? undefined : String(v));

export const gatherState = async (deps: {
  ctx: LocalContext;
  model: LocalModel;
  dynamodb: DynamoDb;
  outbox: Outbox;
  scheduler: Scheduler;
  invoker: Invoker;
  has: (id: string) => boolean;
  /** The last 30 days' delivery figures of a pipeline (delivery.ts). */
  delivery?: (pipeline: string) => Promise<PipelineDelivery>;
}): Promise<DashboardState> => {
  const { ctx, model, dynamodb } = deps;
  const notes: string[] = [];
  const outbox = deps.outbox.list();
  const section = async <T>(name: string, fn: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      notes.push(`${name}: ${(err as Error).message}`);
      return fallback;
    }
  };

  const approvals = await section('approvals', async () => {
    const found: Approval[] = [];
    for (const table of model.tables) {
      let start: unknown;
      do {
        const page = (await dynamodb.call('Scan', {
          TableName: table.name,
          FilterExpression: '#type = :approval',
          ExpressionAttributeNames: { '#type': 'type' },
          ExpressionAttributeValues: { ':approval': { S: 'approval' } },
          ...(start ? { ExclusiveStartKey: start } : {}),
        })) as { Items?: AttributeValue[]; LastEvaluatedKey?: unknown };
        for (const raw of page.Items ?? []) {
          const item = unmarshallItem(raw as Record<string, AttributeValue>);
          const id = asString(item.id);
          if (!id) continue;
          const marker = `/approvals/${encodeURIComponent(id)}`;
          const links = [
            ...new Set(outbox.flatMap((m) => m.links).filter((l) => new URL(l).pathname.startsWith(marker))),
          ];
          found.push({
            id,
            status: asString(item.status) ?? 'UNKNOWN',
            ...(asString(item.pipeline) ? { pipeline: asString(item.pipeline) } : {}),
            ...(asString(item.stage) ? { stage: asString(item.stage) } : {}),
            ...(asString(item.action) ? { action: asString(item.action) } : {}),
            ...(asString(item.createdAt) ? { createdAt: asString(item.createdAt) } : {}),
            ...(asString(item.expiresAt) ? { expiresAt: asString(item.expiresAt) } : {}),
            ...(item.decidedBy !== undefined ? { decidedBy: item.decidedBy } : {}),
            links,
          });
        }
        start = page.LastEvaluatedKey;
      } while (start);
    }
    return found.sort((a, b) => String(b.createdAt ?? '').localeCompare(String(a.createdAt ?? '')));
  }, []);

  const pipelines = deps.has('codepipeline')
    ? await section('pipelines', async () => {
        const list = (await ctx.call('codepipeline', 'ListPipelines', {})) as { pipelines?: Array<{ name: string }> };
        return Promise.all(
          (list.pipelines ?? []).map(async (p) => {
            const state = (await ctx.call('codepipeline', 'GetPipelineState', { name: p.name }).catch(() => ({}))) as {
              stageStates?: unknown[];
            };
            const execs = (await ctx
              .call('codepipeline', 'ListPipelineExecutions', { pipelineName: p.name, maxResults: 10 })
              .catch(() => ({}))) as { pipelineExecutionSummaries?: unknown[] };
            const delivery = deps.delivery
              ? await deps.delivery(p.name).catch((err: unknown) => {
                  notes.push(`delivery figures of ${p.name}: ${(err as Error).message}`);
                  return undefined;
                })
              : undefined;
            return {
              name: p.name,
              stages: state.stageStates ?? [],
              executions: execs.pipelineExecutionSummaries ?? [],
              ...(delivery ? { delivery } : {}),
            };
          }),
        );
      }, [])
    : [];

  const stacks = deps.has('cloudformation')
    ? await section('stacks', async () => {
        const out = (await ctx.call('cloudformation', 'DescribeStacks', {})) as {
          Stacks?: Array<Record<string, unknown>>;
        };
        return (out.Stacks ?? []).map((s) => ({
          name: String(s.StackName),
          status: String(s.StackStatus),
          ...(s.LastUpdatedTime || s.CreationTime ? { updatedAt: String(s.LastUpdatedTime ?? s.CreationTime) } : {}),
          ...(s.StackStatusReason ? { reason: String(s.StackStatusReason) } : {}),
        }));
      }, [])
    : [];

  const teardownRuns = deps.has('sfn')
    ? await section('teardown runs', async () => {
        const runs: DashboardState['teardownRuns'] = [];
        for (const sm of model.stateMachines) {
          const out = (await ctx.call('sfn', 'ListExecutions', { stateMachineArn: sm.arn, maxResults: 50 })) as {
            executions?: Array<Record<string, unknown>>;
          };
          for (const e of out.executions ?? []) {
            const graceEndsAt = e.status === 'RUNNING' ? await graceEnd(ctx, String(e.executionArn)) : undefined;
            runs.push({
              name: String(e.name),
              status: String(e.status),
              startDate: e.startDate,
              stopDate: e.stopDate,
              stateMachine: sm.name,
              ...(graceEndsAt !== undefined ? { graceEndsAt } : {}),
            });
          }
        }
        return runs;
      }, [])
    : [];

  return {
    generatedAt: new Date().toISOString(),
    pipelines,
    approvals,
    stacks,
    teardownRuns,
    outbox,
    schedules: deps.scheduler.list().map((s) => ({
      name: s.name,
      expression: s.expression,
      ...(s.lastRunAt ? { lastRunAt: s.lastRunAt } : {}),
      ...(s.nextRunAt ? { nextRunAt: s.nextRunAt } : {}),
    })),
    notes,
  };
};

/**
 * When a teardown run that is waiting out its grace period (the state machine's `GraceWait`, `SecondsPath:
 * $.request.graceSeconds`) will start deleting: its latest history event is that state's entry. Local waits run at
 * `STAGECREW_SFN_WAIT_SCALE` (1 = real time).
 */
const graceEnd = async (ctx: LocalContext, executionArn: string): Promise<number | undefined> => {
  const out = (await ctx.call('sfn', 'GetExecutionHistory', { executionArn, reverseOrder: true, maxResults: 1 })) as {
    events?: Array<{
      type?: string;
      timestamp?: unknown;
      stateEnteredEventDetails?: { name?: string; input?: string };
    }>;
  };
  const last = out.events?.[0];
  if (last?.type !== 'WaitStateEntered' || last.stateEnteredEventDetails?.name !== 'GraceWait') return undefined;
  let seconds: number;
  try {
    seconds = Number(JSON.parse(last.stateEnteredEventDetails.input ?? '{}')?.request?.graceSeconds);
  } catch {
    return undefined;
  }
  if (!Number.isFinite(seconds)) return undefined;
  const scale = Number(process.env.STAGECREW_SFN_WAIT_SCALE ?? 1);
  const t = last.timestamp;
  // In process the history may carry epoch seconds (the JSON protocol's timestamp form), a date, or an ISO string.
  const entered =
    t instanceof Date ? t.getTime() : typeof t === 'number' ? (t < 1e12 ? t * 1000 : t) : new Date(String(t)).getTime();
  if (!Number.isFinite(entered)) return undefined;
  return Math.round(entered + seconds * 1000 * (Number.isFinite(scale) ? scale : 1));
};
