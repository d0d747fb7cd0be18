import { NotFoundError } from '../errors.ts';
import type { TimelineStore } from './ports.ts';
import type { TimelineRecord } from './record.ts';

/** `inferred`: no stage event has arrived; the stage is known from its actions and shows the latest one's state. */
export type StageView = TimelineRecord & { actions: TimelineRecord[]; inferred?: true };
export type ExecutionView = { execution: TimelineRecord; stages: StageView[] };

/** Earliest known time of a record: its STARTED, or else the first event seen. */
const startOf = (r: TimelineRecord): string => r.startedAt ?? r.firstSeenAt;
const byStart = (a: TimelineRecord, b: TimelineRecord): number =>
  startOf(a) < startOf(b) ? -1 : startOf(a) > startOf(b) ? 1 : 0;

/**
 * One execution as a tree: stages in the order they ran, each with its actions in the order they ran. Actions
 * whose stage event has not arrived (yet) are grouped under a placeholder stage built from their first action.
 */
export const executionView = async (store: TimelineStore, executionId: string): Promise<ExecutionView> => {
  const rows = await store.listExecution(executionId);
  const execution = rows.find((r) => r.type === 'execution');
  const stages = new Map<string, StageView>();
  for (const s of rows.filter((r) => r.type === 'stage-execution')) stages.set(s.stage ?? '', { ...s, actions: [] });
  for (const a of rows.filter((r) => r.type === 'action-execution').sort(byStart)) {
    const key = a.stage ?? '';
    let stage = stages.get(key);
    if (!stage) {
      stage = {
        type: 'stage-execution',
        pipeline: a.pipeline,
        executionId: a.executionId,
        stage: key,
        state: a.state,
        stateAt: a.stateAt,
        firstSeenAt: a.firstSeenAt,
        ...(a.startedAt ? { startedAt: a.startedAt } : {}),
        lastEventId: '',
        actions: [],
        inferred: true,
      };
      stages.set(key, stage);
    } else if (stage.inferred && a.stateAt >= stage.stateAt) {
      stage.state = a.state;
      stage.stateAt = a.stateAt;
    }
    stage.actions.push(a);
  }
  if (!execution && stages.size === 0) throw new NotFoundError(`no timeline for execution ${executionId}`);
  // Without the pipeline-level record yet, the execution is known only through its stages: say so.
  const first = [...stages.values()].sort(byStart)[0] as StageView | undefined;
  const head: TimelineRecord = execution ?? {
    type: 'execution',
    pipeline: first?.pipeline ?? '',
    executionId,
    state: 'STARTED',
    stateAt: first ? startOf(first) : '',
    firstSeenAt: first ? startOf(first) : '',
    lastEventId: '',
  };
  return { execution: head, stages: [...stages.values()].sort(byStart) };
};

/** A pipeline's most recent executions, newest first (one index query). */
export const pipelineHistory = (
  store: Pick<TimelineStore, 'listExecutions'>,
  pipeline: string,
  limit = 25,
): Promise<TimelineRecord[]> => store.listExecutions(pipeline, { limit: Math.min(Math.max(1, limit), 100) });
