import { createHash } from 'node:crypto';
import type { ApprovalRoute } from '../settings.ts';

/**
 * The approval record and its state machine. An approval is PENDING until a decision is reached; exactly one
 * caller moves it PENDING → DECIDING (conditional write) and only that caller calls PutApprovalResult. Every
 * other state is terminal: the links die and the Slack message says why.
 */
export const APPROVAL_STATUSES = [
  'PENDING',
  'DECIDING',
  'APPROVED',
  'REJECTED',
  'EXPIRED',
  'SUPERSEDED',
  'CLOSED',
] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];
export const TERMINAL: ReadonlySet<ApprovalStatus> = new Set([
  'APPROVED',
  'REJECTED',
  'EXPIRED',
  'SUPERSEDED',
  'CLOSED',
]);

export type Channel = 'slack' | 'email';
export type Decision = 'approve' | 'reject';

/** Someone who can vote: an email recipient or a Slack user (with the email Slack knows, when it knows it). */
export type Voter = {
  channel: Channel;
  /** Slack user id for Slack voters. */
  slackUserId?: string;
  email?: string;
  name?: string;
  /** Slack user group ids the voter belongs to (resolved on demand). */
  groups?: readonly string[];
};

export type SlackPost = { channel: string; ts: string };

export type ApprovalRecord = {
  id: string;
  status: ApprovalStatus;
  pipeline: string;
  stage: string;
  action: string;
  executionId: string;
  region: string;
  /** The pipeline's account when it is a member account's (docs/ORGANIZATION.md); absent: the hub's own. */
  accountId?: string;
  /** CodePipeline's approval token: stays server-side, never rendered, never logged. */
  token: string;
  createdAt: string;
  /** The action's own deadline (ISO). */
  expiresAt: string;
  customData?: string;
  externalEntityLink?: string;
  consoleLink?: string;
  source: 'sns' | 'eventbridge';
  revision?: { id?: string; summary?: string; url?: string };
  /** Identities that triggered the execution (commit author email, STS session name…): the self-approval check. */
  authors: string[];
  route: ApprovalRoute;
  approveCount: number;
  approvers: string[];
  slackPosts: SlackPost[];
  emailedTo: string[];
  decidedBy?: string;
  decidedAt?: string;
  decisionChannel?: Channel;
  comment?: string;
  closedReason?: string;
  approvedAt?: string;
  decidingSince?: string;
  announcedAt?: string;
  /**
   * Found through EventBridge for an action that also notifies an SNS topic: not announced before this time, so the
   * first message can carry what only the SNS message has (CustomData, the review link, the real deadline).
   */
  announceAfter?: string;
  lastRemindedAt?: string;
  escalatedAt?: string;
  version: number;
};

/** What the approval came in as, from SNS or from EventBridge + GetPipelineState. */
export type ApprovalRequest = {
  pipeline: string;
  stage: string;
  action: string;
  token: string;
  region: string;
  /** The pipeline's account (the event's `account`); absent for SNS, whose message names only the region. */
  accountId?: string;
  expires: Date;
  executionId?: string;
  customData?: string;
  externalEntityLink?: string;
  consoleLink?: string;
  source: 'sns' | 'eventbridge';
};

/**
 * The approval id is derived from the token: SNS and EventBridge deliveries of the same approval converge on one
 * record (the conditional put dedupes them), and the id reveals nothing about the token.
 */
export const approvalIdFor = (token: string): string =>
  createHash('sha256').update(`stagecrew/approval/${token}`).digest('base64url').slice(0, 26);

export const ID_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;

/** The canonical identity of a voter for "one vote per person across Slack and email". */
export const voterKey = (v: Voter): string => {
  if (v.email) return `email:${v.email.toLowerCase()}`;
  if (v.slackUserId) return `slack:${v.slackUserId}`;
  throw new Error('voter has neither email nor Slack id');
};

/** How a voter is named in summaries and audit ("Ana <slack:U123>", "ana@example.com"). */
export const voterLabel = (v: Voter): string => {
  const who = v.slackUserId ? `slack:${v.slackUserId}` : `email:${v.email ?? '?'}`;
  return v.name ? `${v.name} <${who}>` : v.email && v.channel === 'email' ? v.email : who;
};

/** A plain-words description of where the approval stands, for pages and Slack updates. */
export const describeStatus = (r: ApprovalRecord): string => {
  switch (r.status) {
    case 'PENDING':
      return r.route.policy.quorum > 1
        ? `Waiting: ${r.approveCount} of ${r.route.policy.quorum} approved`
        : 'Waiting for a decision';
    case 'DECIDING':
      return 'Recording the decision…';
    case 'APPROVED':
      return `Approved by ${r.decidedBy ?? '?'} at ${r.decidedAt ?? '?'}${r.decisionChannel ? ` via ${r.decisionChannel}` : ''}`;
    case 'REJECTED':
      return `Rejected by ${r.decidedBy ?? '?'} at ${r.decidedAt ?? '?'}${r.decisionChannel ? ` via ${r.decisionChannel}` : ''}`;
    case 'EXPIRED':
      return 'Expired without a decision';
    case 'SUPERSEDED':
      return 'Superseded by a newer pipeline execution';
    case 'CLOSED':
      return `Closed outside Stagecrew${r.closedReason ? ` (${r.closedReason})` : ''}`;
  }
};
