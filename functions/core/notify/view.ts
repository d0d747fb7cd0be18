import type { ActionExecutionInfo, PipelineExecutionInfo, PipelineGateway, Warn } from '../ports.ts';
import type { State } from '../schemas/codepipeline-events.ts';
import type { TimelineRecord } from '../timeline/record.ts';
import { isTerminal, type Transition, type Trigger } from '../timeline/transition.ts';

/** One failed action, as a failure message names it. */
export type FailedAction = {
  stage: string;
  action: string;
  summary?: string;
  errorCode?: string;
  externalUrl?: string;
  provider?: string;
};

/** Everything a notification shows, gathered once and rendered per channel. */
export type NotificationView = {
  pipeline: string;
  executionId: string;
  scope: Transition['scope'];
  stage?: string;
  action?: string;
  state: State;
  time: string;
  /** The pipeline's account (the event's): with member accounts, which account the pipeline lives in. */
  account?: string;
  region?: string;
  /** A cross-region action's own region, when it differs from the pipeline's. */
  actionRegion?: string;
  durationMs?: number;
  consoleUrl?: string;
  revision?: { id?: string; summary?: string; url?: string; source?: string };
  failures: FailedAction[];
  statusSummary?: string;
  trigger?: Trigger;
  stopComments?: string;
  /** Set on the last message a pipeline may send in the current rate-limit window. */
  rateLimitNote?: string;
  /** Details that could not be fetched (the message still goes out without them). */
  missing: string[];
};

/** Error summaries from actions can be whole logs; messages keep the first part. */
export const SUMMARY_MAX = 500;

const clip = (text: string | undefined, max = SUMMARY_MAX): string | undefined =>
  text === undefined || text.trim() === '' ? undefined : text.length <= max ? text : `${text.slice(0, max - 1)}…`;

/**
 * encodeURIComponent throws URIError on a lone UTF-16 surrogate, which a forged event's name can carry (CodePipeline's
 * own names are ASCII): such a surrogate becomes U+FFFD instead, so building a link never throws.
 */
const encodeSegment = (text: string): string => encodeURIComponent(text.toWellFormed());

export const consoleUrl = (region: string | undefined, pipeline: string, executionId: string): string | undefined =>
  region === undefined
    ? undefined
    : `https://${region}.console.aws.amazon.com/codesuite/codepipeline/pipelines/${encodeSegment(pipeline)}/executions/${encodeSegment(executionId)}/timeline?region=${region}`;

/**
 * The failed actions of an execution, newest attempt per action only (a retried action that later succeeded is
 * not a failure), optionally limited to one stage.
 */
export const failedActions = (executions: readonly ActionExecutionInfo[], stage?: string): FailedAction[] => {
  const latest = new Map<string, ActionExecutionInfo>();
  for (const e of executions) {
    if (stage !== undefined && e.stageName !== stage) continue;
    const key = `${e.stageName}\u0000${e.actionName}`;
    const seen = latest.get(key);
    if (!seen || (e.startTime?.getTime() ?? 0) >= (seen.startTime?.getTime() ?? 0)) latest.set(key, e);
  }
  return [...latest.values()]
    .filter((e) => e.status === 'Failed')
    .sort((a, b) => (a.startTime?.getTime() ?? 0) - (b.startTime?.getTime() ?? 0))
    .map((e) => {
      const f: FailedAction = { stage: e.stageName, action: e.actionName };
      const summary = clip(e.errorDetails?.message ?? e.externalExecutionSummary);
      if (summary) f.summary = summary;
      if (e.errorDetails?.code) f.errorCode = e.errorDetails.code;
      if (e.externalExecutionUrl) f.externalUrl = e.externalExecutionUrl;
      if (e.provider) f.provider = e.provider;
      return f;
    });
};

type Gateway = Pick<PipelineGateway, 'getPipelineExecution' | 'listActionExecutions'>;

/**
 * Gathers the message content for a transition. Terminal states get the source revision (GetPipelineExecution);
 * failures get the failed stage/action, error summary and external link (ListActionExecutions, or the action
 * event's own execution result). A lookup that fails degrades the message instead of dropping it.
 */
export const buildView = async (
  t: Transition,
  record: TimelineRecord | undefined,
  pipelines: Gateway,
  warn: Warn,
): Promise<NotificationView> => {
  const view: NotificationView = {
    pipeline: t.pipeline,
    executionId: t.executionId,
    scope: t.scope,
    state: t.state,
    time: t.time,
    failures: [],
    missing: [],
  };
  if (t.stage) view.stage = t.stage;
  if (t.action) view.action = t.action;
  if (t.account) view.account = t.account;
  if (t.region) view.region = t.region;
  if (t.actionRegion && t.actionRegion !== t.region) view.actionRegion = t.actionRegion;
  const url = consoleUrl(t.region, t.pipeline, t.executionId);
  if (url) view.consoleUrl = url;
  if (record?.durationMs !== undefined) view.durationMs = record.durationMs;
  const trigger = record?.trigger ?? t.trigger;
  if (trigger) view.trigger = trigger;
  if (t.stopComments) view.stopComments = t.stopComments;

  if (!isTerminal(t.state)) return view;

  const wantsActions = t.state === 'FAILED' && t.scope !== 'action';
  const [execution, actions] = await Promise.all([
    pipelines.getPipelineExecution(t.pipeline, t.executionId).catch((err: unknown) => {
      warn('source revision unavailable', { error: String(err) });
      view.missing.push('revision');
      return undefined;
    }),
    wantsActions
      ? pipelines.listActionExecutions(t.pipeline, t.executionId).catch((err: unknown) => {
          warn('action executions unavailable', { error: String(err) });
          view.missing.push('failed actions');
          return undefined;
        })
      : Promise.resolve(undefined),
  ]);

  if (execution) applyExecution(view, execution);
  if (t.scope === 'action' && t.state === 'FAILED') {
    const f: FailedAction = { stage: t.stage ?? '', action: t.action ?? '' };
    const summary = clip(t.result?.summary);
    if (summary) f.summary = summary;
    if (t.result?.errorCode) f.errorCode = t.result.errorCode;
    if (t.result?.externalExecutionUrl) f.externalUrl = t.result.externalExecutionUrl;
    if (t.actionType?.provider) f.provider = t.actionType.provider;
    view.failures = [f];
  } else if (actions) {
    view.failures = failedActions(actions, t.scope === 'stage' ? t.stage : undefined);
  }
  return view;
};

const applyExecution = (view: NotificationView, e: PipelineExecutionInfo): void => {
  const summary = clip(e.statusSummary);
  if (summary) view.statusSummary = summary;
  // The first source action's revision is the commit that started the run.
  const r = e.sourceRevisions.find((s) => s.revisionId || s.revisionSummary);
  if (r) {
    view.revision = {};
    if (r.revisionId) view.revision.id = r.revisionId;
    const s = clip(revisionMessage(r.revisionSummary), 200);
    if (s) view.revision.summary = s;
    if (r.revisionUrl) view.revision.url = r.revisionUrl;
    if (r.actionName) view.revision.source = r.actionName;
  }
  if (!view.trigger && e.trigger) {
    view.trigger = {};
    if (e.trigger.triggerType) view.trigger.type = e.trigger.triggerType;
    if (e.trigger.triggerDetail) view.trigger.detail = e.trigger.triggerDetail;
  }
};

/**
 * GitHub/CodeStar sources report `revisionSummary` as JSON (`{"ProviderType":"GitHub","CommitMessage":"…"}`);
 * CodeCommit and S3 report plain text. Either way, the message's first line.
 */
export const revisionMessage = (summary: string | undefined): string | undefined => {
  if (summary === undefined) return undefined;
  let text = summary;
  if (summary.trimStart().startsWith('{')) {
    try {
      const parsed = JSON.parse(summary) as { CommitMessage?: unknown };
      if (typeof parsed.CommitMessage === 'string') text = parsed.CommitMessage;
    } catch {
      // Not JSON after all: show it as it is.
    }
  }
  return text.split('\n')[0]?.trim() || undefined;
};
