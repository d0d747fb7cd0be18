import { StagecrewError, UnavailableError } from '../errors.ts';
import type { Log, Mailer, PipelineGateway, SlackGateway } from '../ports.ts';
import type { Settings } from '../settings.ts';
import type { EventLedger } from '../timeline/ports.ts';
import type { TimelineRecord } from '../timeline/record.ts';
import type { Transition } from '../timeline/transition.ts';
import type { RateLimiter } from './ports.ts';
import { renderEmail } from './render-email.ts';
import { renderSlack } from './render-slack.ts';
import { isEmptyRoute, routeTransition } from './route.ts';
import { buildView } from './view.ts';

export type NotifyLogger = Pick<Log, 'warn' | 'error'>;

export type NotifyDeps = {
  pipelines: Pick<PipelineGateway, 'getPipelineExecution' | 'listActionExecutions'>;
  slack: SlackGateway;
  /** A mailer sending from the configured sender (settings.notifications.emailSender). */
  mailer: (from: string) => Mailer;
  rateLimiter: RateLimiter;
  ledger: Pick<EventLedger, 'markDelivered'>;
  logger: NotifyLogger;
};

export type NotifyOutcome =
  | { status: 'no-route' }
  | { status: 'rate-limited'; resetAt: Date }
  | { status: 'sent'; delivered: string[]; skipped: string[]; failed: string[] };

/** Rate-limit counter key: one budget per pipeline across all its channels. */
export const rateLimitKey = (pipeline: string): string => `PIPELINE#${pipeline}`;

/**
 * Routes a transition to its channels and sends one message per Slack channel and per email address.
 * Deliveries already made for this event (a retried invocation) are skipped. A delivery failing with a retryable
 * error fails the invocation after every other destination was tried, so EventBridge retries it; a permanent
 * error (unknown channel, missing permission) is logged and not retried.
 */
export const notifyTransition = async (
  t: Transition,
  record: TimelineRecord | undefined,
  settings: Settings['notifications'],
  delivered: ReadonlySet<string>,
  now: Date,
  deps: NotifyDeps,
): Promise<NotifyOutcome> => {
  const route = routeTransition(settings.rules, t);
  if (isEmptyRoute(route)) return { status: 'no-route' };

  const destinations = [
    ...route.slackChannels.map((c) => `slack:${c}`),
    ...route.emails.map((e) => `email:${e}`),
  ].filter((d) => !delivered.has(d));
  if (destinations.length === 0) return { status: 'sent', delivered: [], skipped: [], failed: [] };

  const { perPipeline, windowSeconds } = settings.rateLimit;
  const quota = await deps.rateLimiter.tryAcquire(rateLimitKey(t.pipeline), perPipeline, windowSeconds, now);
  if (!quota.allowed) {
    deps.logger.warn('notification rate-limited', { pipeline: t.pipeline, resetAt: quota.resetAt.toISOString() });
    return { status: 'rate-limited', resetAt: quota.resetAt };
  }

  const view = await buildView(t, record, deps.pipelines, (m, e) => deps.logger.warn(m, e ?? {}));
  if (quota.remaining === 0) {
    view.rateLimitNote = `Notification limit for ${t.pipeline} reached (${perPipeline} per ${windowSeconds}s); further messages resume after ${quota.resetAt.toISOString()}.`;
  }

  const sent: string[] = [];
  const skipped: string[] = [];
  const failed: string[] = [];
  const retryable: unknown[] = [];
  const mailer = settings.emailSender ? deps.mailer(settings.emailSender) : undefined;

  for (const destination of destinations) {
    const [kind, address] = splitDestination(destination);
    try {
      if (kind === 'slack') {
        await deps.slack.postMessage(renderSlack(view, address));
      } else if (mailer) {
        await mailer.send(renderEmail(view, [address]));
      } else {
        deps.logger.warn('email route without notifications.emailSender; not sent', { pipeline: t.pipeline });
        skipped.push(destination);
        continue;
      }
      sent.push(destination);
      await deps.ledger.markDelivered(t.eventId, destination);
    } catch (err) {
      failed.push(destination);
      const canRetry = err instanceof StagecrewError ? err.retryable : true;
      deps.logger.error('notification failed', { destination: kind, error: String(err), retryable: canRetry });
      if (canRetry) retryable.push(err);
    }
  }
  if (retryable.length > 0) {
    throw new UnavailableError(`notification delivery failed for ${retryable.length} destination(s)`, {
      cause: retryable[0],
    });
  }
  return { status: 'sent', delivered: sent, skipped, failed };
};

const splitDestination = (d: string): ['slack' | 'email', string] => {
  const i = d.indexOf(':');
  return [d.slice(0, i) as 'slack' | 'email', d.slice(i + 1)];
};
