import { type ApprovalRoute, globMatch, type Settings } from '../settings.ts';
import type { Voter } from './model.ts';

/**
 * Routing and approver policy. The first rule whose pipeline/stage/action globs match overrides the defaults
 * field by field (a rule names only what it changes).
 */
export const resolveRoute = (settings: Settings, pipeline: string, stage: string, action: string): ApprovalRoute => {
  const { defaults, rules } = settings.approvals;
  const rule = rules.find(
    (r) => globMatch(r.pipeline, pipeline) && globMatch(r.stage, stage) && globMatch(r.action, action),
  );
  if (!rule) return defaults;
  return {
    slackChannels: rule.slackChannels ?? defaults.slackChannels,
    emails: rule.emails ?? defaults.emails,
    policy: { ...defaults.policy, ...defined(rule.policy ?? {}) },
    linkTtlMinutes: rule.linkTtlMinutes ?? defaults.linkTtlMinutes,
    reminderMinutes: rule.reminderMinutes ?? defaults.reminderMinutes,
    escalateBeforeMinutes: rule.escalateBeforeMinutes ?? defaults.escalateBeforeMinutes,
    escalation: { ...defaults.escalation, ...defined(rule.escalation ?? {}) },
  };
};

const defined = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

export type PolicyCheck =
  | { ok: true }
  | { ok: false; reason: 'forbidden' | 'self_approval' | 'not_posted_here' | 'identity_unverified'; message: string };

const norm = (s: string) => s.trim().toLowerCase();

/**
 * May this voter vote? An empty allow-list admits every recipient of the approval (the people it was routed to:
 * anyone in the Slack channels, the emailed addresses). Entries: Slack user ids (U…/W…), user group ids (S…),
 * emails, or `@domain`.
 */
export const checkVoter = (route: ApprovalRoute, voter: Voter, authors: readonly string[]): PolicyCheck => {
  const allow = route.policy.allow;
  if (allow.length > 0 && !allow.some((entry) => matchesEntry(entry, voter))) {
    return { ok: false, reason: 'forbidden', message: 'you are not on the approver list for this action' };
  }
  if (voter.channel === 'email' && allow.length === 0) {
    // Without an allow-list only the addresses the approval was routed to may vote by email.
    const routed = [...route.emails, ...route.escalation.emails].map(norm);
    if (!voter.email || !routed.includes(norm(voter.email))) {
      return { ok: false, reason: 'forbidden', message: 'this address is not a recipient of the approval' };
    }
  }
  if (!route.policy.allowSelfApproval && isAuthor(voter, authors)) {
    return { ok: false, reason: 'self_approval', message: 'you started this change and cannot approve it yourself' };
  }
  return { ok: true };
};

const matchesEntry = (entry: string, v: Voter): boolean => {
  const e = entry.trim();
  if (/^[UW][A-Z0-9]{2,}$/.test(e)) return v.slackUserId === e;
  if (/^S[A-Z0-9]{2,}$/.test(e)) return (v.groups ?? []).includes(e);
  if (e.startsWith('@')) return v.email !== undefined && norm(v.email).endsWith(norm(e));
  if (e.includes('@')) return v.email !== undefined && norm(v.email) === norm(e);
  return false;
};

export const isAuthor = (v: Voter, authors: readonly string[]): boolean => {
  const mine = [v.email, v.slackUserId, v.name].filter((x): x is string => Boolean(x)).map(norm);
  return authors.map(norm).some((a) => a !== '' && mine.includes(a));
};

/** True when the allow-list has a Slack user group entry, so group membership must be resolved. */
export const needsGroups = (route: ApprovalRoute): boolean => route.policy.allow.some((e) => /^S[A-Z0-9]{2,}$/.test(e));

/**
 * Who started this change, from what CodePipeline reports: the STS session name or IAM user of the trigger
 * (`arn:aws:sts::1:assumed-role/Deployer/ana@example.com` → `ana@example.com`), and email addresses in the
 * revision summary (commit author lines). Used for the self-approval rule.
 */
export const authorsFrom = (trigger: { triggerDetail?: string } | undefined, revisionSummaries: string[]): string[] => {
  const out = new Set<string>();
  const detail = trigger?.triggerDetail ?? '';
  const session = /:assumed-role\/[^/]+\/([^/\s]+)$/.exec(detail) ?? /:user\/(?:[^/]+\/)*([^/\s]+)$/.exec(detail);
  if (session?.[1]) out.add(session[1]);
  for (const s of [detail, ...revisionSummaries]) {
    for (const m of s.matchAll(/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g)) out.add(m[0]);
  }
  return [...out];
};

/**
 * A Slack vote counts only from a message Stagecrew posted for this approval: the click's channel and message
 * timestamp must be one of the approval's Slack posts. A click from any other message, channel or workspace — or an
 * approval routed only to email — is refused, however well signed.
 */
export const checkSlackOrigin = (
  posts: readonly { channel: string; ts: string }[],
  where: { channel?: string; ts?: string },
): PolicyCheck =>
  where.channel && where.ts && posts.some((p) => p.channel === where.channel && p.ts === where.ts)
    ? { ok: true }
    : {
        ok: false,
        reason: 'not_posted_here',
        message: 'this approval was not posted in this message; use the message Stagecrew posted or your email link',
      };

/**
 * Votes are counted per person by email across Slack and email. When the approval needs more than one approver,
 * or its allow-list names emails or domains, a Slack vote whose email could not be confirmed is refused rather
 * than counted under the Slack user id (which could count one person twice, or admit them by a guess).
 */
export const needsVerifiedEmail = (route: ApprovalRoute): boolean =>
  route.policy.quorum > 1 || route.policy.allow.some((e) => e.includes('@'));

export const UNVERIFIED_IDENTITY: Extract<PolicyCheck, { ok: false }> = {
  ok: false,
  reason: 'identity_unverified',
  message:
    'Stagecrew could not confirm your email address in Slack, and this approval counts each person once by email; ' +
    'use your email link, or ask the Slack admin to grant the users:read.email scope',
};
