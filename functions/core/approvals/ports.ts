import type { ApprovalRecord, ApprovalStatus, Channel, Decision, SlackPost } from './model.ts';

/** An immutable audit entry: who did what to which approval, through which channel, and what CodePipeline said. */
export type AuditEntry = {
  approvalId: string;
  pipeline: string;
  executionId: string;
  /** Where the pipeline lives, for a member account's approval (docs/ORGANIZATION.md). */
  accountId?: string;
  region?: string;
  at: string;
  event: 'requested' | 'notified' | 'vote' | 'decided' | 'refused' | 'closed' | 'reminded' | 'escalated' | 'failed';
  actor?: string;
  channel?: Channel | 'codepipeline' | 'system';
  decision?: Decision;
  comment?: string;
  reason?: string;
  requestId?: string;
  sourceIp?: string;
  userAgent?: string;
  approvedAt?: string;
};

/** Steps that must happen once: announcing, each reminder, the escalation. */
export type ClaimField = 'announcedAt' | 'lastRemindedAt' | 'escalatedAt';

export type SnsDetails = {
  expiresAt: string;
  customData?: string;
  externalEntityLink?: string;
  consoleLink?: string;
};

export type DecisionPatch = {
  status: 'APPROVED' | 'REJECTED';
  decidedBy: string;
  decidedAt: string;
  decisionChannel: Channel;
  comment?: string;
  approvedAt?: string;
};

/**
 * Persistence for approvals with the conditional semantics the decision path relies on. Every method that
 * returns a boolean or `undefined` reports a lost condition that way; infrastructure failures throw.
 */
export type ApprovalStore = {
  /** Puts a new PENDING record unless one with this id exists. False: a duplicate delivery. */
  create(record: ApprovalRecord): Promise<boolean>;
  get(id: string): Promise<ApprovalRecord | undefined>;
  /** Marks a page nonce used. False: it was used before (a replayed form). */
  consumeNonce(id: string, nonce: string, expiresAt: Date): Promise<boolean>;
  /** Records one vote per person. False: this person already voted on this approval. */
  putVote(id: string, voterKey: string, vote: { decision: Decision; channel: Channel; at: string }): Promise<boolean>;
  /** Withdraws a vote whose decision could not be delivered (retryable failure). */
  retractVote(id: string, voterKey: string): Promise<void>;
  /** Counts an approve vote while PENDING. Undefined: the approval is no longer pending. */
  addApproval(id: string, label: string): Promise<ApprovalRecord | undefined>;
  /**
   * PENDING → DECIDING exactly once (also takes over a DECIDING older than `staleBefore`, a crashed decider).
   * With `minApprovals`, only when that many approvals were counted. Undefined: someone else won or it is over.
   */
  beginDecision(
    id: string,
    now: Date,
    options: { minApprovals?: number; staleBefore: Date },
  ): Promise<ApprovalRecord | undefined>;
  /** DECIDING → APPROVED/REJECTED. */
  finishDecision(id: string, patch: DecisionPatch): Promise<ApprovalRecord>;
  /** DECIDING → PENDING after a retryable failure, so the approval can still be decided. */
  abortDecision(id: string): Promise<void>;
  /**
   * PENDING → a terminal status; also DECIDING when its decider started before `decidingBefore` (a decider's
   * own failure passes a far-future date; lifecycle sync passes now − 1 min so it never races a live decider).
   * Undefined: it was already terminal (or is being decided).
   */
  close(
    id: string,
    status: ApprovalStatus,
    reason: string,
    now: Date,
    decidingBefore?: Date,
  ): Promise<ApprovalRecord | undefined>;
  /**
   * Adds what only the SNS message knows (the real deadline, custom data, links) to a PENDING approval that
   * EventBridge discovered first. Undefined: nothing to enrich (already from SNS, or no longer pending).
   */
  enrich(id: string, details: SnsDetails): Promise<ApprovalRecord | undefined>;
  /** Remembers where the approval was announced (for later chat.update) and who was emailed. */
  recordNotified(id: string, posts: SlackPost[], emailedTo: string[]): Promise<void>;
  /** Sets `field` to now if it still has the value the caller read (and the approval is PENDING): once only. */
  claim(id: string, field: ClaimField, previous: string | undefined, now: Date): Promise<boolean>;
  listByExecution(pipeline: string, executionId: string): Promise<ApprovalRecord[]>;
  /** Ids of approvals that are (or were recently) pending: the reminder sweep's worklist. */
  listPendingIds(): Promise<string[]>;
  audit(entry: AuditEntry): Promise<void>;
  listAudit(id: string): Promise<AuditEntry[]>;
  /** The audit trail of every approval of one pipeline execution, oldest first. */
  listAuditByExecution(pipeline: string, executionId: string): Promise<AuditEntry[]>;
};
