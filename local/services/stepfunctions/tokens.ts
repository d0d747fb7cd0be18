import { randomBytes } from 'node:crypto';
import type { LocalContext } from '../types.ts';
import { AwsError } from '../types.ts';
import { statesTimeout, TaskError } from './tasks.ts';

/**
 * Task tokens of `.waitForTaskToken` tasks. A token is persisted (so SendTask* can tell an unknown token from a
 * finished one after a restart) and, while its task waits, held in memory with its heartbeat and timeout timers.
 */
export const TOKENS = 'sfn:tokens';
type TokenRecord = { executionArn: string; state: 'WAITING' | 'DONE' };
type Pending = {
  resolve: (output: unknown) => void;
  reject: (err: Error) => void;
  heartbeat?: NodeJS.Timeout;
  heartbeatMs?: number;
  timeout?: NodeJS.Timeout;
};

const FORMAT = /^AQ[A-Za-z0-9_-]{40,}$/;

export const newToken = () => `AQ${randomBytes(96).toString('base64url')}`;

export class TaskTokens {
  readonly #pending = new Map<string, Pending>();

  /** Registers a token and returns the wait; HeartbeatSeconds and TimeoutSeconds fail it with States.Timeout. */
  wait(
    ctx: LocalContext,
    token: string,
    executionArn: string,
    limits: { heartbeatSeconds?: number; timeoutSeconds?: number },
  ): Promise<unknown> {
    ctx.store.put(TOKENS, token, { executionArn, state: 'WAITING' } satisfies TokenRecord);
    return new Promise<unknown>((resolve, reject) => {
      const pending: Pending = { resolve, reject };
      const expire = (cause: string) => () => {
        this.settle(ctx, token);
        reject(statesTimeout(cause));
      };
      if (limits.heartbeatSeconds !== undefined) {
        pending.heartbeatMs = limits.heartbeatSeconds * 1000;
        pending.heartbeat = setTimeout(expire('Task heartbeat timed out'), pending.heartbeatMs);
      }
      if (limits.timeoutSeconds !== undefined) {
        pending.timeout = setTimeout(expire('Task timed out'), limits.timeoutSeconds * 1000);
      }
      this.#pending.set(token, pending);
    });
  }

  /** Ends a token's life: it no longer completes anything (SendTask* then answers TaskTimedOut). */
  settle(ctx: LocalContext, token: string): Pending | undefined {
    const pending = this.#pending.get(token);
    if (pending) {
      clearTimeout(pending.heartbeat);
      clearTimeout(pending.timeout);
      this.#pending.delete(token);
    }
    const record = ctx.store.get<TokenRecord>(TOKENS, token);
    if (record && record.state !== 'DONE') ctx.store.put(TOKENS, token, { ...record, state: 'DONE' });
    return pending;
  }

  /** After a restart, tokens whose task no longer waits in this process are void. */
  voidStale(ctx: LocalContext): void {
    for (const [token, t] of ctx.store.list<TokenRecord>(TOKENS)) {
      if (t.state === 'WAITING' && !this.#pending.has(token)) ctx.store.put(TOKENS, token, { ...t, state: 'DONE' });
    }
  }

  /** Forgets every waiting task without touching the store (process shutdown). */
  clear(): void {
    for (const p of this.#pending.values()) {
      clearTimeout(p.heartbeat);
      clearTimeout(p.timeout);
    }
    this.#pending.clear();
  }

  /** The waiting task for a token, with AWS's errors for malformed, unknown and finished tokens. */
  #claim(ctx: LocalContext, token: unknown): string {
    if (typeof token !== 'string' || token.length === 0 || token.length > 2048) {
      throw new AwsError(
        'ValidationException',
        "1 validation error detected: Value at 'taskToken' failed to satisfy constraint: Member must have length between 1 and 2048",
      );
    }
    if (!FORMAT.test(token)) throw new AwsError('InvalidToken', "Invalid Token: 'Invalid token'");
    const record = ctx.store.get<TokenRecord>(TOKENS, token);
    if (!record) throw new AwsError('TaskDoesNotExist', 'Task does not exist');
    if (record.state !== 'WAITING' || !this.#pending.has(token)) {
      throw new AwsError('TaskTimedOut', "Task Timed Out: 'Provided task does not exist anymore'");
    }
    return token;
  }

  success(ctx: LocalContext, token: unknown, output: unknown): void {
    const t = this.#claim(ctx, token);
    if (typeof output !== 'string') throw new AwsError('InvalidOutput', 'Invalid output: output is required');
    let parsed: unknown;
    try {
      parsed = JSON.parse(output);
    } catch {
      throw new AwsError('InvalidOutput', 'Invalid output: not valid JSON');
    }
    this.settle(ctx, t)?.resolve(parsed);
  }

  failure(ctx: LocalContext, token: unknown, error?: unknown, cause?: unknown): void {
    const t = this.#claim(ctx, token);
    this.settle(ctx, t)?.reject(
      new TaskError(typeof error === 'string' ? error : '', typeof cause === 'string' ? cause : ''),
    );
  }

  heartbeat(ctx: LocalContext, token: unknown): void {
    const t = this.#claim(ctx, token);
    const pending = this.#pending.get(t);
    if (pending?.heartbeat && pending.heartbeatMs !== undefined) {
      clearTimeout(pending.heartbeat);
      pending.heartbeat = setTimeout(() => {
        this.settle(ctx, t);
        pending.reject(statesTimeout('Task heartbeat timed out'));
      }, pending.heartbeatMs);
    }
  }
}
