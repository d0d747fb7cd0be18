import type { Clock } from '#local/services/eventbridge/delivery';
import type { LocalContext } from '#local/services/types';
import { MemoryStore, type StateStore } from '#local/store/store';

export type InvokeCall = { target: string; payload: unknown; type: string | undefined };
export type ServiceCall = { service: string; operation: string; input: Record<string, unknown> };

/**
 * A LocalContext over a MemoryStore that records Lambda invocations and in-process service calls.
 * `failInvoke` decides per call whether the invocation rejects (to exercise retries).
 */
export function fakeContext(
  options: { store?: StateStore; failInvoke?: (call: InvokeCall, n: number) => boolean } = {},
) {
  const invokes: InvokeCall[] = [];
  const calls: ServiceCall[] = [];
  const logs: Array<{ level: string; message: string; data?: Record<string, unknown> }> = [];
  const store = options.store ?? new MemoryStore();
  const ctx: LocalContext = {
    region: 'us-east-1',
    accountId: '123456789012',
    baseUrl: 'http://127.0.0.1:4566',
    store,
    log: {
      info: (message, data) => logs.push({ level: 'info', message, ...(data && { data }) }),
      warn: (message, data) => logs.push({ level: 'warn', message, ...(data && { data }) }),
      error: (message, data) => logs.push({ level: 'error', message, ...(data && { data }) }),
    },
    putEvents: async () => [],
    invoke: async (target, payload, type) => {
      const call = { target, payload, type };
      invokes.push(call);
      if (options.failInvoke?.(call, invokes.length)) throw new Error(`function ${target} is throttled`);
      return undefined;
    },
    call: async (service, operation, input) => {
      calls.push({ service, operation, input });
      return {};
    },
  };
  return { ctx, store, invokes, calls, logs };
}

/** A clock whose time only moves when the test says so; timers fire on `advance`. */
export class ManualClock implements Clock {
  #now: number;
  #timers: Array<{ at: number; fn: () => void; id: number }> = [];
  #ids = 0;
  constructor(start = Date.parse('2026-01-01T00:00:00Z')) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#ids;
    this.#timers.push({ at: this.#now + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  }
  get pending(): number {
    return this.#timers.length;
  }
  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      const next = this.#timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = next.at;
      next.fn();
    }
    this.#now = until;
  }
}
