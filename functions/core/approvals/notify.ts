import type { Clock, Mailer, SlackGateway, Warn } from '../ports.ts';
import type { ApprovalRecord, SlackPost } from './model.ts';
import type { ApprovalStore } from './ports.ts';
import { approvalEmail, slackApprovalMessage } from './render.ts';
import { type LinkKeys, linkUrl, signLink } from './signing.ts';

export type { Warn } from '../ports.ts';

export type NotifyDeps = {
  store: ApprovalStore;
  slack?: SlackGateway;
  /** Undefined when no sender is configured: email is disabled (with a warning). */
  mailer?: Mailer;
  keys: () => Promise<LinkKeys>;
  baseUrl: string;
  clock: Clock;
  warn: Warn;
};

/** A link's expiry: the route's link TTL, never past the action's own deadline. */
export const linkExpiry = (r: ApprovalRecord, now: Date): Date =>
  new Date(Math.min(now.getTime() + r.route.linkTtlMinutes * 60_000, Date.parse(r.expiresAt)));

/**
 * Announces an approval: one Slack message per channel, one email per recipient with that recipient's signed
 * link. A failing channel or address is logged and skipped so the others still get it; what was sent is
 * remembered on the record.
 */
export const announce = async (
  r: ApprovalRecord,
  audience: { slackChannels: readonly string[]; emails: readonly string[] },
  deps: NotifyDeps,
  note = '',
): Promise<{ posts: SlackPost[]; emailedTo: string[] }> => {
  const now = deps.clock.now();
  const posts: SlackPost[] = [];
  const emailedTo: string[] = [];
  const slack = deps.slack;
  if (audience.slackChannels.length > 0 && !slack) deps.warn('Slack is not configured; skipping Slack channels');
  for (const channel of audience.slackChannels) {
    if (!slack) break;
    try {
      posts.push(await slack.postMessage(slackApprovalMessage(r, channel, now)));
    } catch (err) {
      deps.warn('could not post approval to Slack', { channel, error: (err as Error).message });
    }
  }
  if (audience.emails.length > 0 && !deps.mailer) {
    deps.warn('email sender is not configured (settings.notifications.emailSender); approval emails are disabled');
  }
  if (deps.mailer && audience.emails.length > 0) {
    const keys = await deps.keys();
    for (const to of audience.emails) {
      const link = linkUrl(deps.baseUrl, r.id, signLink(keys, r.id, to, linkExpiry(r, now)));
      try {
        await deps.mailer.send(approvalEmail(r, to, link, now, note));
        emailedTo.push(to);
      } catch (err) {
        deps.warn('could not email approval', { error: (err as Error).message });
      }
    }
  }
  if (posts.length > 0 || emailedTo.length > 0) await deps.store.recordNotified(r.id, posts, emailedTo);
  return { posts, emailedTo };
};

/**
 * Brings every Slack message of the approval in line with the persisted record (never optimistic). The record
 * is read again just before the update, so a slower concurrent caller cannot put an older state back on screen.
 */
export const syncMessages = async (
  r: ApprovalRecord,
  deps: Pick<NotifyDeps, 'slack' | 'clock' | 'warn'> & { store?: Pick<ApprovalStore, 'get'> },
) => {
  if (!deps.slack || r.slackPosts.length === 0) return;
  const latest = (await deps.store?.get(r.id)) ?? r;
  const now = deps.clock.now();
  for (const post of latest.slackPosts) {
    try {
      await deps.slack.updateMessage({ ...slackApprovalMessage(latest, post.channel, now), ts: post.ts });
    } catch (err) {
      deps.warn('could not update the Slack approval message', {
        channel: post.channel,
        error: (err as Error).message,
      });
    }
  }
};
