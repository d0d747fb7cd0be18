import { ConflictError } from '../errors.ts';

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
