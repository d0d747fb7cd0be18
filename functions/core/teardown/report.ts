import type { EmailMessage, EventPublisher, Mailer, SlackGateway, SlackMessage, Warn } from '../ports.ts';
import * as z from '../schemas/zod.ts';
import type { Settings } from '../settings.ts';
import { Item, OUTCOMES, type Outcome, parseWith, Run, type StackResult } from './model.ts';
import type { TeardownStore } from './ports.ts';

/** One Map iteration's output: a recorded result, or an item whose outcome record could not be written. */
const UnrecordedItem = z.object({ item: Item, recordError: z.optional(z.unknown()) });
const IterationResult = z.union([
  z.looseObject({ stackId: z.string(), outcome: z.enum(OUTCOMES) }),
  z.looseObject(UnrecordedItem.shape),
]);

export const FinishInput = z.object({
  request: Run,
  results: z._default(z.array(IterationResult), []),
  execution: z.optional(z.object({ proceed: z.boolean(), status: z.string() })),
});

export const normalizeResults = (raw: z.infer<typeof FinishInput>['results']): StackResult[] =>
  raw.map((r) => {
    const unrecorded = UnrecordedItem.safeParse(r);
    if (unrecorded.success) {
      const i = unrecorded.data.item;
      return {
        stackId: i.stackId,
        ...(i.stackName ? { stackName: i.stackName } : {}),
        outcome: i.outcome ?? 'DELETE_FAILED',
        detail: `${i.detail ?? 'no outcome'} (outcome record not written)`,
        dryRun: i.dryRun,
        attempts: i.attempt,
        orphans: i.orphans,
        remediated: i.remediated,
      };
    }
    return r as unknown as StackResult;
  });

export const countOutcomes = (results: StackResult[]): Partial<Record<Outcome, number>> => {
  const counts: Partial<Record<Outcome, number>> = {};
  for (const r of results) counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
  return counts;
};

const LABEL: Record<Outcome, string> = {
  DELETED: 'deleted',
  ALREADY_GONE: 'already gone',
  SKIPPED_NOT_OWNED: 'skipped (not owned)',
  SKIPPED_PROTECTED: 'skipped (termination protection)',
  BLOCKED_BY_EXPORT: 'blocked by an export in use',
  DELETE_FAILED: 'delete failed',
  RETAINED: 'deleted, resources retained',
  TIMED_OUT: 'timed out',
};

/** Needs a human: these leave a stack or billable resources behind. */
const ATTENTION: ReadonlySet<Outcome> = new Set([
  'BLOCKED_BY_EXPORT',
  'DELETE_FAILED',
  'RETAINED',
  'TIMED_OUT',
  'SKIPPED_PROTECTED',
]);

export type Report = { title: string; lines: string[]; attention: boolean };

export const renderReport = (run: Run, results: StackResult[]): Report => {
  const subject = run.sweep ? 'expired test stacks' : `${run.pipeline} execution ${run.executionId}`;
  const dry = run.dryRun ? ' (dry run: nothing deleted)' : '';
  const counts = countOutcomes(results);
  const tally =
    OUTCOMES.filter((o) => counts[o])
      .map((o) => `${counts[o]} ${LABEL[o]}`)
      .join(', ') || 'no stacks found';
  const lines = results.map((r) => {
    const verb = r.dryRun && r.outcome === 'DELETED' ? 'would delete' : LABEL[r.outcome];
    const orphans = r.orphans.length
      ? `; orphaned: ${r.orphans.map((o) => `${o.logicalId} ${o.type} ${o.physicalId ?? ''}`.trim()).join(', ')}`
      : '';
    return `• ${r.stackName ?? r.stackId}: ${verb}${r.detail ? ` — ${r.detail}` : ''}${orphans}`;
  });
  return {
    title: `Teardown of ${subject} (${run.reason})${dry}: ${tally}`,
    lines,
    attention: results.some((r) => ATTENTION.has(r.outcome)),
  };
};

export type FinishDeps = {
  store: TeardownStore;
  slack: SlackGateway | undefined;
  mailer: Mailer | undefined;
  events: EventPublisher;
  settings: () => Promise<Settings>;
  now: () => Date;
  warn: Warn;
};

/**
 * Ends a run: run record, Slack and email summary (a channel that fails is logged, never fails the run: the
 * outcomes are already recorded), and the `Stagecrew Teardown Finished` event.
 */
export const finish = async (raw: unknown, deps: FinishDeps) => {
  const input = parseWith(FinishInput, raw, 'teardown finish input');
  const run = input.request;
  const cancelled = input.execution !== undefined && !input.execution.proceed;
  const results = normalizeResults(input.results);
  const counts = countOutcomes(results);
  const finishedAt = deps.now().toISOString();
  await deps.store.putRun({
    runId: run.runId,
    ...(run.pipeline ? { pipeline: run.pipeline } : {}),
    ...(run.executionId ? { executionId: run.executionId } : {}),
    reason: run.reason,
    dryRun: run.dryRun,
    status: cancelled ? 'CANCELLED' : 'FINISHED',
    startedAt: run.startedAt,
    finishedAt,
    counts,
    ...(cancelled ? { detail: `pipeline execution is ${input.execution?.status}; nothing deleted` } : {}),
  });
  const detail = {
    runId: run.runId,
    pipeline: run.pipeline,
    executionId: run.executionId,
    reason: run.reason,
    dryRun: run.dryRun,
    status: cancelled ? 'CANCELLED' : 'FINISHED',
    counts,
    stacks: results.map((r) => ({ stackId: r.stackId, stackName: r.stackName, outcome: r.outcome, detail: r.detail })),
  };
  await deps.events.publish('Stagecrew Teardown Finished', detail);
  if (cancelled) return detail;
  const settings = (await deps.settings()).teardown;
  const report = renderReport(run, results);
  const text = [report.title, ...report.lines].join('\n');
  if (deps.slack) {
    for (const channel of settings.slackChannels) {
      const message: SlackMessage = {
        channel,
        text: report.title,
        blocks: [
          {
            type: 'header',
            text: { type: 'plain_text', text: report.attention ? 'Teardown needs attention' : 'Teardown finished' },
          },
          { type: 'section', text: { type: 'mrkdwn', text: text.slice(0, 2900) } },
        ],
      };
      await deps.slack
        .postMessage(message)
        .catch((err: unknown) => deps.warn('teardown summary to Slack failed', { channel, error: String(err) }));
    }
  }
  if (deps.mailer && settings.emails.length > 0) {
    const email: EmailMessage = { to: settings.emails, subject: report.title.slice(0, 200), text };
    await deps.mailer
      .send(email)
      .catch((err: unknown) => deps.warn('teardown summary email failed', { error: String(err) }));
  }
  return detail;
};
