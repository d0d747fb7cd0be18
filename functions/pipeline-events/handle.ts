import type { SettingsSource } from '#core/adapters/settings-store';
import { type DeliveryPolicy, deploymentOf, LOOK_AROUND_MS } from '#core/delivery/figures';
import type { DeliveryStore } from '#core/delivery/ports';
import { recordSourceTime, recordSummary } from '#core/delivery/record-summary';
import { type MetricPoint, newFigures } from '#core/delivery/signals';
import { sourceTimeFrom } from '#core/delivery/source-time';
import type { DeliverySummary, RecordVersion } from '#core/delivery/summary';
import { ConflictError } from '#core/errors';
import { type NotifyDeps, type NotifyOutcome, notifyTransition } from '#core/notify/notify';
import type { Location } from '#core/organization/location';
import type { Clock, Log } from '#core/ports';
import type { CodePipelineEvent } from '#core/schemas/codepipeline-events';
import { deliveryPolicy, type Settings } from '#core/settings';
import type { TeardownStarter } from '#core/teardown/ports';
import type { EventLedger, TimelineStore } from '#core/timeline/ports';
import { recordTransition } from '#core/timeline/record-transition';
import { type Transition, toTransition } from '#core/timeline/transition';

/** The teardown trigger's decision for one pipeline-execution transition. */
export type TeardownDecision =
  | { action: 'start'; name: string; input: Record<string, unknown> }
  | { action: 'stop'; name: string }
  | { action: 'refuse'; why: string }
  | undefined;

/**
 * Decides, from a pipeline-execution transition and the teardown policy, whether to start or cancel teardown;
 * with `reach`, an execution in an account the hub was not given is refused.
 */
export type TeardownPlanner = (
  t: Transition,
  settings: Settings['teardown'],
  reach?: { home: Location; accounts: readonly string[] },
) => TeardownDecision;

export type PipelineEventsDeps = NotifyDeps & {
  timeline: TimelineStore;
  /** Execution summaries behind the delivery figures (docs/METRICS.md). */
  delivery: DeliveryStore;
  ledger: EventLedger;
  settings: SettingsSource;
  teardown: { plan: TeardownPlanner; starter: TeardownStarter };
  clock: Clock;
  logger: Log;
  /** The hub's own account and region (absent: every event is taken to be the hub's own). */
  home?: Location;
};

export type PipelineEventOutcome =
  | { status: 'duplicate'; eventId: string; reason: 'done' }
  | {
      status: 'processed';
      eventId: string;
      pipeline: string;
      /** The event's state became the record's current state (false: stale, arrived after a later state). */
      advanced: boolean;
      teardown: 'started' | 'stopped' | 'none';
      notification: NotificationOutcome;
      /** Delivery figures this event made known (the handler publishes them as metrics). */
      figures: MetricPoint[];
    };

/** `failed`: notifying hit a defect (e.g. rendering a forged value) that every retry would hit again. */
export type NotificationOutcome = NotifyOutcome | { status: 'stale' } | { status: 'failed'; error: string };

/**
 * One CodePipeline state-change event (parsed at the boundary, handler.ts): claim the event id (at-least-once
 * delivery) → fold into the timeline → teardown trigger (pipeline level) → routed notifications → delivery summary. Only an event that advanced its record
 * acts: a stale FAILED arriving after RESUMED neither starts teardown nor notifies. Any failure releases the claim
 * and rethrows, so the platform's retry processes the event again (each step is idempotent); the one exception is a
 * defect while notifying, which a retry would only repeat (see {@link notRetried}).
 */
export const handlePipelineEvent = async (
  event: CodePipelineEvent,
  deps: PipelineEventsDeps,
): Promise<PipelineEventOutcome> => {
  const now = deps.clock.now();
  const t = toTransition(event);
  const claim = await deps.ledger.claim(t.eventId, now);
  if (!claim.claimed && claim.reason === 'in-progress') {
    // Another invocation holds the claim: a concurrent delivery, or one that crashed (the lease runs until it
    // expires). Skipping would end the platform's retries and lose the event if that invocation never finishes
    // (no timeline, no teardown start); failing lets the retry come back and find it done or free.
    deps.logger.warn('event claimed by another invocation; leaving it to the retry', { eventId: t.eventId });
    throw new ConflictError(`event ${t.eventId} is being processed by another invocation`);
  }
  if (!claim.claimed) {
    deps.logger.info('duplicate event skipped', { eventId: t.eventId, reason: 'done' });
    return { status: 'duplicate', eventId: t.eventId, reason: 'done' };
  }
  try {
    const merged = await recordTransition(deps.timeline, t);
    deps.logger.info('transition recorded', {
      scope: t.scope,
      state: t.state,
      advanced: merged.advanced,
      recordState: merged.record.state,
    });
    let teardown: 'started' | 'stopped' | 'none' = 'none';
    let notification: NotificationOutcome = { status: 'stale' };
    if (merged.advanced) {
      const settings = await deps.settings.settings();
      if (t.scope === 'pipeline') teardown = await triggerTeardown(t, settings, deps);
      notification = await notifyTransition(t, merged.record, settings.notifications, claim.delivered, now, deps).catch(
        (err: unknown) => notRetried(err, deps),
      );
    }
    // Last, so the figures never hold up a teardown or a notification: every change of a record goes into its
    // execution's summary, advanced or not (a late STARTED moves the start). A retryable failure fails the event
    // (the retry repeats the steps above idempotently); a defect is logged and the event completes.
    const figures = await updateDelivery(merged, now, deps).catch((err: unknown) => {
      notRetried(err, deps, 'delivery summary');
      return [];
    });
    await deps.ledger.complete(t.eventId, deps.clock.now());
    return {
      status: 'processed',
      eventId: t.eventId,
      pipeline: t.pipeline,
      advanced: merged.advanced,
      teardown,
      notification,
      figures,
    };
  } catch (err) {
    await deps.ledger.release(t.eventId).catch((releaseErr: unknown) => {
      // The lease expires on its own; the original error is the one to surface.
      deps.logger.warn('event claim release failed', { error: String(releaseErr) });
    });
    throw err;
  }
};

/** Folds the stored record into its execution's delivery summary; returns the figures that became known. */
const updateDelivery = async (merged: RecordVersion, now: Date, deps: PipelineEventsDeps): Promise<MetricPoint[]> => {
  const summary = await recordSummary(deps.delivery, merged);
  if (!summary?.changed) return [];
  const pipeline = merged.record.pipeline;
  const policy = deliveryPolicy((await deps.settings.settings()).delivery, pipeline);
  // A member account's pipeline is not read from here (docs/ORGANIZATION.md, limits): its lead time counts from the
  // trigger's author date, else from the execution's start.
  const r = merged.record;
  const elsewhere =
    deps.home !== undefined &&
    r.account !== undefined &&
    r.region !== undefined &&
    (r.account !== deps.home.accountId || r.region !== deps.home.region);
  const after = elsewhere ? summary.after : await withSourceTime(summary.after, policy, deps);
  const since = new Date(Date.parse(after.anchorAt) - LOOK_AROUND_MS).toISOString();
  const until = new Date(now.getTime() + 60_000).toISOString();
  return newFigures(summary.before, after, () => deps.delivery.list(pipeline, since, until), policy);
};

/**
 * A deployment whose trigger named no commit (polling, a manual start, a V1 pipeline) is measured from its source
 * revision's creation time: one GetPipelineExecution when the deployment appears. If that read fails the lead
 * time falls back to the execution's start; the event is not failed for it.
 */
const withSourceTime = async (
  s: DeliverySummary,
  policy: DeliveryPolicy,
  deps: PipelineEventsDeps,
): Promise<DeliverySummary> => {
  if (s.execution?.commitAt !== undefined || s.sourceAt !== undefined || !deploymentOf(s, policy)) return s;
  try {
    const created = await sourceTimeFrom(deps.pipelines)(s.pipeline, s.executionId);
    if (created === undefined) return s;
    return (await recordSourceTime(deps.delivery, s.executionId, created)) ?? s;
  } catch (err) {
    deps.logger.warn('source revision time not read; lead time counts from the execution start', {
      executionId: s.executionId,
      error: String(err),
    });
    return s;
  }
};

/** Errors that mean a defect on this input, not a passing condition: every retry would throw them again. */
const DEFECTS = [TypeError, RangeError, URIError, SyntaxError, ReferenceError];

/**
 * Notifying and the delivery summary come after the timeline write and the teardown trigger. A defect there (say,
 * rendering a forged name) would fail the event on every retry, restarting the teardown each time and never
 * notifying: it is logged and the event completes. Every other error (a retryable delivery failure above all)
 * fails the event as before, so the platform's retry does what is missing.
 */
const notRetried = (
  err: unknown,
  deps: PipelineEventsDeps,
  step = 'notification',
): { status: 'failed'; error: string } => {
  if (!DEFECTS.some((defect) => err instanceof defect)) throw err;
  const error = `${(err as Error).name}: ${(err as Error).message}`;
  deps.logger.error(`${step} failed; not retried`, { error });
  return { status: 'failed', error };
};

const triggerTeardown = async (
  t: Transition,
  settings: Settings,
  deps: PipelineEventsDeps,
): Promise<'started' | 'stopped' | 'none'> => {
  const reach = deps.home ? { home: deps.home, accounts: settings.organization.accounts } : undefined;
  const decision = deps.teardown.plan(t, settings.teardown, reach);
  if (decision === undefined) return 'none';
  if (decision.action === 'refuse') {
    deps.logger.warn('teardown not started', { pipeline: t.pipeline, executionId: t.executionId, why: decision.why });
    return 'none';
  }
  if (decision.action === 'start') {
    await deps.teardown.starter.startTeardown(decision.name, decision.input);
    deps.logger.info('teardown started', { name: decision.name });
    return 'started';
  }
  await deps.teardown.starter.stopTeardown(decision.name);
  deps.logger.info('pending teardown cancelled', { name: decision.name });
  return 'stopped';
};
