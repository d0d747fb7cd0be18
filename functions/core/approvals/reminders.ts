import { escapeMrkdwn } from '../escape.ts';
import type { ApprovalRecord } from './model.ts';
import { announce, type NotifyDeps, syncMessages } from './notify.ts';
import { countdown } from './render.ts';

export type ReminderOutcome = {
  announced: string[];
  reminded: string[];
  escalated: string[];
  expired: string[];
  skipped: number;
};

/**
 * One sweep over pending approvals: expire the overdue ones (CodePipeline fails them on its own; this closes our
 * side and edits the messages), re-announce on the route's cadence (a thread reply in Slack, a fresh link by
 * email) and escalate to the backup audience `escalateBeforeMinutes` before the deadline. Each step is claimed
 * with a conditional write, so overlapping sweeps never double-send.
 */
export const sweepReminders = async (deps: NotifyDeps): Promise<ReminderOutcome> => {
  const out: ReminderOutcome = { announced: [], reminded: [], escalated: [], expired: [], skipped: 0 };
  for (const id of await deps.store.listPendingIds()) {
    const r = await deps.store.get(id);
    if (r?.status !== 'PENDING') {
      out.skipped++;
      continue;
    }
    const now = deps.clock.now();
    const deadline = Date.parse(r.expiresAt);
    if (now.getTime() >= deadline) {
      const closed = await deps.store.close(r.id, 'EXPIRED', 'no decision before the deadline', now);
      if (closed) {
        out.expired.push(r.id);
        await deps.store.audit(auditOf(r, now, 'closed', 'expired'));
        await syncMessages(closed, deps);
      }
      continue;
    }
    if (
      r.announcedAt === undefined &&
      r.announceAfter !== undefined &&
      now.getTime() >= Date.parse(r.announceAfter) &&
      (await deps.store.claim(r.id, 'announcedAt', undefined, now))
    ) {
      // Held for an SNS message that never came: announced with what EventBridge gave.
      await announce(r, { slackChannels: r.route.slackChannels, emails: r.route.emails }, deps);
      out.announced.push(r.id);
      continue;
    }
    const esc = r.route.escalation;
    const escalateAt = deadline - r.route.escalateBeforeMinutes * 60_000;
    if (
      r.route.escalateBeforeMinutes > 0 &&
      !r.escalatedAt &&
      now.getTime() >= escalateAt &&
      (esc.slackChannels.length > 0 || esc.emails.length > 0) &&
      (await deps.store.claim(r.id, 'escalatedAt', undefined, now))
    ) {
      await announce(r, esc, deps, `Escalation: expires ${countdown(r.expiresAt, now)}.`);
      await deps.store.audit(auditOf(r, now, 'escalated'));
      out.escalated.push(r.id);
      continue;
    }
    const last = Date.parse(r.lastRemindedAt ?? r.createdAt);
    if (
      r.route.reminderMinutes > 0 &&
      now.getTime() - last >= r.route.reminderMinutes * 60_000 &&
      (await deps.store.claim(r.id, 'lastRemindedAt', r.lastRemindedAt, now))
    ) {
      await remind(r, now, deps);
      await deps.store.audit(auditOf(r, now, 'reminded'));
      out.reminded.push(r.id);
    }
  }
  return out;
};

const remind = async (r: ApprovalRecord, now: Date, deps: NotifyDeps) => {
  const text = `Reminder: ${escapeMrkdwn(`${r.pipeline} › ${r.stage} › ${r.action}`)} is still waiting for approval (expires ${countdown(r.expiresAt, now)}).`;
  for (const post of deps.slack ? r.slackPosts : []) {
    try {
      await deps.slack?.postMessage({ channel: post.channel, threadTs: post.ts, text });
    } catch (err) {
      deps.warn('could not post a reminder', { channel: post.channel, error: (err as Error).message });
    }
  }
  // Re-send fresh links to recipients who have not voted yet; Slack already has its buttons.
  const voted = new Set(r.approvers.map((a) => a.toLowerCase()));
  const pendingEmails = r.emailedTo.filter((e) => !voted.has(e.toLowerCase()));
  if (pendingEmails.length > 0) {
    await announce(
      r,
      { slackChannels: [], emails: pendingEmails },
      { ...deps, store: { ...deps.store, recordNotified: async () => {} } },
      'Reminder:',
    );
  }
  await syncMessages(r, deps);
};

const auditOf = (r: ApprovalRecord, now: Date, event: 'closed' | 'reminded' | 'escalated', reason?: string) => ({
  approvalId: r.id,
  pipeline: r.pipeline,
  executionId: r.executionId,
  at: now.toISOString(),
  event,
  channel: 'system' as const,
  reason,
});
