import { PermissionError } from '../errors.ts';

/**
 * The hub was asked to act in an account that is neither its own nor one of the member accounts its settings list
 * (`organization.accounts`). Nothing is assumed or called there: this is the confused-deputy stop.
 */
export class NotAMemberAccountError extends PermissionError {
  readonly accountId: string;
  constructor(accountId: string) {
    super(`account ${accountId} is not one of this hub's member accounts (settings organization.accounts)`);
    this.name = 'NotAMemberAccountError';
    this.accountId = accountId;
  }
}
