import { StagecrewError } from '../errors.ts';

/** The teardown domain's own errors (each a StagecrewError; Step Functions matches their names). */

/** The ownership error of a DeleteStack refused at the last moment; the workflow re-inspects the stack. */
export class OwnershipChangedError extends StagecrewError {
  constructor(message: string) {
    super(message);
    this.name = 'OwnershipChangedError';
  }
}

/** The stack settled before the wait was registered: the workflow concludes from a fresh look instead. */
export class StackSettledError extends StagecrewError {
  constructor(message: string) {
    super(message);
    this.name = 'StackSettledError';
  }
}
