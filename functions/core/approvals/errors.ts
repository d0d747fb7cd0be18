import { ConflictError, StagecrewError } from '../errors.ts';
import type { ApprovalRecord } from './model.ts';

/** The approval was already decided (console, CLI, another channel) or the action is no longer waiting. */
export class ApprovalAlreadyCompletedError extends ConflictError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ApprovalAlreadyCompletedError';
  }
}

/** The token no longer names a waiting approval (superseded, stopped, or from another execution). */
export class InvalidApprovalTokenError extends ConflictError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidApprovalTokenError';
  }
}

/** Typed outcome of a decision attempt that did not record a vote. */
export type RefusalReason =
  | 'not_found'
  | 'bad_signature'
  | 'link_expired'
  | 'nonce_used'
  | 'nonce_stale'
  | 'forbidden'
  | 'self_approval'
  | 'already_voted'
  | 'already_decided'
  | 'expired'
  | 'superseded'
  | 'closed'
  | 'reason_required'
  | 'invalid'
  | 'unavailable'
  | 'not_posted_here'
  | 'identity_unverified';

const STATUS_OF: Record<RefusalReason, number> = {
  not_found: 404,
  bad_signature: 403,
  link_expired: 410,
  nonce_used: 409,
  nonce_stale: 409,
  forbidden: 403,
  self_approval: 403,
  already_voted: 409,
  already_decided: 409,
  expired: 410,
  superseded: 410,
  closed: 410,
  reason_required: 400,
  invalid: 400,
  unavailable: 503,
  not_posted_here: 403,
  identity_unverified: 403,
};

/** A refused decision: carries an HTTP status and a reason code, never a 500 or a false success. */
export class ApprovalRefusedError extends StagecrewError {
  readonly reason: RefusalReason;
  readonly status: number;
  readonly record: ApprovalRecord | undefined;
  constructor(reason: RefusalReason, message: string, record?: ApprovalRecord) {
    super(message);
    this.name = 'ApprovalRefusedError';
    this.reason = reason;
    this.status = STATUS_OF[reason];
    this.record = record;
  }
}

/** The refusal that a record in a terminal (or deciding) state implies. */
export const refusalFor = (record: ApprovalRecord): ApprovalRefusedError => {
  switch (record.status) {
    case 'APPROVED':
    case 'REJECTED':
      return new ApprovalRefusedError(
        'already_decided',
        `already ${record.status.toLowerCase()} by ${record.decidedBy ?? 'someone'} at ${record.decidedAt ?? '?'}`,
        record,
      );
    case 'DECIDING':
      return new ApprovalRefusedError('already_decided', 'a decision is being recorded right now', record);
    case 'EXPIRED':
      return new ApprovalRefusedError('expired', 'this approval expired', record);
    case 'SUPERSEDED':
      return new ApprovalRefusedError('superseded', 'this pipeline execution was superseded by a newer one', record);
    case 'CLOSED':
      return new ApprovalRefusedError(
        'closed',
        `this approval was closed elsewhere${record.closedReason ? `: ${record.closedReason}` : ''}`,
        record,
      );
    default:
      return new ApprovalRefusedError('invalid', `approval is ${record.status}`, record);
  }
};
