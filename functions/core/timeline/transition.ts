import type { CodePipelineEvent, EventScope, State } from '../schemas/codepipeline-events.ts';
import { scopeOf } from '../schemas/codepipeline-events.ts';

/** One state change of a pipeline execution, a stage execution or an action execution, as Stagecrew reads it. */
export type Transition = {
  eventId: string;
  scope: EventScope;
  pipeline: string;
  executionId: string;
  stage?: string;
  action?: string;
  state: State;
  /** The event's `time` (ISO 8601, second precision on AWS). */
  time: string;
  account?: string;
  /** The pipeline's region (the event envelope's). */
  region?: string;
  /** An action event's own region (`detail.region`), which differs for cross-region actions. */
  actionRegion?: string;
  pipelineVersion?: number;
  attempt?: number;
  trigger?: Trigger;
  stopComments?: string;
  actionType?: { owner?: string; category?: string; provider?: string; version?: number };
  result?: { externalExecutionUrl?: string; summary?: string; externalExecutionId?: string; errorCode?: string };
};

/** Who or what started an execution (`detail.execution-trigger`), with a V2 Git trigger's commit and author. */
export type Trigger = {
  type?: string;
  detail?: string;
  provider?: string;
  repository?: string;
  branch?: string;
  tag?: string;
  commitId?: string;
  commitMessage?: string;
  author?: string;
  authorEmail?: string;
  authorId?: string;
  authorDate?: string;
};

/** Commit messages can be long; the timeline keeps the first line, bounded. */
const firstLine = (text: string | undefined) => text?.split('\n', 1)[0]?.slice(0, 200);

export const TERMINAL_STATES: ReadonlySet<State> = new Set([
  'SUCCEEDED',
  'FAILED',
  'CANCELED',
  'SUPERSEDED',
  'STOPPED',
  'ABANDONED',
]);

export const isTerminal = (state: State): boolean => TERMINAL_STATES.has(state);

/**
 * Order of states inside one attempt. Events carry second-precision times, so STARTED and FAILED of a fast action
 * often share a timestamp: at equal times the higher rank wins, whatever the arrival order.
 */
export const STATE_RANK: Readonly<Record<State, number>> = {
  STARTED: 1,
  RESUMED: 2,
  STOPPING: 3,
  SUCCEEDED: 4,
  FAILED: 4,
  CANCELED: 4,
  SUPERSEDED: 4,
  STOPPED: 4,
  ABANDONED: 4,
};

const defined = <T extends Record<string, unknown>>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

const nonEmpty = <T extends Record<string, unknown>>(o: T): T | undefined => {
  const d = defined(o);
  return Object.keys(d).length > 0 ? d : undefined;
};

/** Maps a parsed event to a Transition (pure; the event was validated at the boundary). */
export const toTransition = (event: CodePipelineEvent): Transition => {
  const scope = scopeOf(event);
  const d = event.detail as Record<string, unknown> & (typeof event)['detail'];
  const base: Transition = {
    eventId: event.id,
    scope,
    pipeline: d.pipeline,
    executionId: d['execution-id'],
    state: d.state,
    time: new Date(event.time).toISOString(),
    account: event.account,
    region: event.region,
    pipelineVersion: d.version,
    attempt: d['pipeline-execution-attempt'],
  };
  if (event['detail-type'] === 'CodePipeline Pipeline Execution State Change') {
    const p = event.detail;
    const trigger = p['execution-trigger'];
    return defined({
      ...base,
      trigger: trigger
        ? nonEmpty({
            type: trigger['trigger-type'],
            detail: trigger['trigger-detail'],
            provider: trigger['provider-type'],
            repository: trigger['full-repository-name'],
            branch: trigger['branch-name'],
            tag: trigger['tag-name'],
            commitId: trigger['commit-id'],
            commitMessage: firstLine(trigger['commit-message']),
            author: trigger['author-display-name'],
            authorEmail: trigger['author-email'],
            authorId: trigger['author-id'],
            authorDate: trigger['author-date'],
          })
        : undefined,
      stopComments: p['stop-execution-comments'],
    });
  }
  if (event['detail-type'] === 'CodePipeline Stage Execution State Change') {
    return defined({ ...base, stage: event.detail.stage });
  }
  const a = event.detail;
  const r = a['execution-result'];
  return defined({
    ...base,
    stage: a.stage,
    action: a.action,
    // Two regions: the envelope's is the pipeline's, the detail's is the action's (cross-region actions).
    actionRegion: a.region,
    actionType: a.type
      ? nonEmpty({
          owner: a.type.owner,
          category: a.type.category,
          provider: a.type.provider,
          version: a.type.version,
        })
      : undefined,
    result: r
      ? nonEmpty({
          externalExecutionUrl: r['external-execution-url'],
          summary: r['external-execution-summary'],
          externalExecutionId: r['external-execution-id'],
          errorCode: r['error-code'],
        })
      : undefined,
  });
};
