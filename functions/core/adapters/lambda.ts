import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { toDomainError } from '../errors.ts';

/** Loaded with this module on first use (wiring.ts), so the client tree-shakes with the command it sends. */
export { LambdaClient } from '@aws-sdk/client-lambda';

/**
 * Hands a payload to a function as an asynchronous (`Event`) invocation: Lambda queues it, answers 202 at once and
 * retries the function twice if it fails.
 */
export class LambdaAsyncInvoker {
  readonly #client: LambdaClient;

  constructor(client: LambdaClient) {
    this.#client = client;
  }

  async invokeAsync(functionName: string, payload: unknown): Promise<void> {
    try {
      await this.#client.send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: 'Event',
          Payload: new TextEncoder().encode(JSON.stringify(payload)),
        }),
      );
    } catch (err) {
      throw toDomainError(err, `lambda Invoke ${functionName}`);
    }
  }
}
