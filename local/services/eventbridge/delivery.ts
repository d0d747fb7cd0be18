/**
 * Delivery of matched events to targets, at least once: every (event, target) pair is written to the store before
 * PutEvents answers, attempted asynchronously, retried with exponential backoff within the target's RetryPolicy,
 * and finally dead-lettered (kept in the store for debugging) if it never gets through. A restart resumes whatever
 * is still pending.
 */
import type { StateStore } from '../../store/store.ts';
import type { LocalContext } from '../types.ts';
import { type DeadLetter, type Delivery, type EventLogEntry, NS } from './model.ts';
import { targetPayload } from './transform.ts';

/** Time and timers, injectable so that tests never wait. */
export type Clock = {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
};

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** EventBridge's defaults when a target has no RetryPolicy: 185 retries within 24 hours. */
export const DEFAULT_RETRY = { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 } as const;

/** Exponential backoff (1 s, 2 s, 4 s … capped at 5 min) before retry number `retry` (1-based). */
export const defaultBackoff = (retry: number): number => Math.min(1000 * 2 ** (retry - 1), 300_000);

/** A failure that retrying cannot fix (an unsupported target type). */
class UndeliverableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UndeliverableError';
  }
}

/** The target refused the delivery for lack of permission (another account's bus without a policy for us). */
class NoPermissionsError extends UndeliverableError {
  constructor(message: string) {
    super(message);
    this.name = 'NoPermissionsError';
  }
}

/** Sends one payload to one target ARN through the local cloud. */
export async function sendToTarget(ctx: LocalContext, arn: string, payload: unknown): Promise<void> {
  const service = /^arn:aws[\w-]*:([a-z0-9-]+):/.exec(arn)?.[1];
  if (service === 'lambda' && /:function:[^:]+/.test(arn)) {
    await ctx.invoke(arn, payload, 'Event');
  } else if (service === 'states' && arn.includes(':stateMachine:')) {
    await ctx.call('sfn', 'StartExecution', { stateMachineArn: arn, input: JSON.stringify(payload) });
  } else if (service === 'events' && arn.includes(':event-bus/')) {
    // Another bus, possibly in another account or region: the event arrives there unchanged.
    const [, , , region = '', account = ''] = arn.split(':');
    const there = account === ctx.accountId && region === ctx.region ? ctx : ctx.partition?.(account, region);
    if (!there) throw new UndeliverableError(`The local cloud cannot reach the bus ${arn}`);
    const name = arn.slice(arn.indexOf(':event-bus/') + ':event-bus/'.length);
    try {
      await there.call('eventbridge', 'RelayEvent', {
        Event: payload,
        EventBusName: name,
        SourceAccount: ctx.accountId,
      });
    } catch (err) {
      // A bus whose policy refuses this account: retrying cannot help (AWS retries, then gives up the same way).
      if ((err as { code?: string }).code === 'AccessDeniedException')
        throw new NoPermissionsError((err as Error).message);
      throw err;
    }
  } else if (service === 'sns') {
    const message = typeof payload === 'string' ? payload : JSON.stringify(payload);
    await ctx.call('sns', 'Publish', { TopicArn: arn, Message: message });
  } else {
    throw new UndeliverableError(`The local cloud cannot deliver to target ${arn}`);
  }
}

export type DispatcherOptions = { clock?: Clock; backoff?: (retry: number) => number };

export class Dispatcher {
  readonly #clock: Clock;
  readonly #backoff: (retry: number) => number;
  readonly #timers = new Map<string, unknown>();
  readonly #inflight = new Set<Promise<void>>();
  readonly #running = new Set<string>();

  constructor(options: DispatcherOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#backoff = options.backoff ?? defaultBackoff;
  }

  get clock(): Clock {
    return this.#clock;
  }

  /** Persists deliveries (the caller's acknowledgement depends on this) and starts them. */
  enqueue(ctx: LocalContext, deliveries: Delivery[]): void {
    for (const delivery of deliveries) ctx.store.put(NS.pending, delivery.id, delivery);
    for (const delivery of deliveries) this.#schedule(ctx, delivery);
  }

  /** Picks up every delivery left pending by a previous process. */
  resume(ctx: LocalContext): void {
    for (const [, delivery] of ctx.store.list<Delivery>(NS.pending)) {
      if (!this.#timers.has(delivery.id) && !this.#running.has(delivery.id)) this.#schedule(ctx, delivery);
    }
  }

  /** Resolves once no attempt is running (timers for later retries may remain). */
  async idle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  stop(): void {
    for (const handle of this.#timers.values()) this.#clock.clearTimeout(handle);
    this.#timers.clear();
  }

  #schedule(ctx: LocalContext, delivery: Delivery): void {
    const delay = delivery.dueAt - this.#clock.now();
    if (delay <= 0) {
      this.#track(ctx, delivery.id);
      return;
    }
    const handle = this.#clock.setTimeout(() => {
      this.#timers.delete(delivery.id);
      this.#track(ctx, delivery.id);
    }, delay);
    this.#timers.set(delivery.id, handle);
  }

  #track(ctx: LocalContext, id: string): void {
    const run = Promise.resolve()
      .then(() => this.#attempt(ctx, id))
      .finally(() => this.#inflight.delete(run));
    this.#inflight.add(run);
  }

  async #attempt(ctx: LocalContext, id: string): Promise<void> {
    if (this.#running.has(id)) return;
    const delivery = ctx.store.get<Delivery>(NS.pending, id);
    if (!delivery) return;
    this.#running.add(id);
    try {
      const payload = targetPayload(delivery.target, delivery.event, {
        ruleName: delivery.ruleName,
        ruleArn: delivery.ruleArn,
        ingestedAt: new Date(delivery.acceptedAt).toISOString(),
      });
      await sendToTarget(ctx, delivery.target.Arn, payload);
      ctx.store.delete(NS.pending, id);
    } catch (err) {
      this.#failed(ctx, delivery, err);
    } finally {
      this.#running.delete(id);
    }
  }

  #failed(ctx: LocalContext, delivery: Delivery, err: unknown): void {
    const now = this.#clock.now();
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    const attempts = delivery.attempts + 1;
    const policy = { ...DEFAULT_RETRY, ...delivery.target.RetryPolicy };
    const retry = attempts; // the retry that would come next (1-based)
    const dueAt = now + this.#backoff(retry);
    let reason: string | undefined;
    // EventBridge's dead-letter ERROR_CODE values.
    if (err instanceof NoPermissionsError) reason = 'NO_PERMISSIONS';
    else if (err instanceof UndeliverableError) reason = 'UNSUPPORTED_TARGET';
    else if (attempts > policy.MaximumRetryAttempts) reason = 'RETRY_ATTEMPTS_EXHAUSTED';
    else if (dueAt - delivery.acceptedAt > policy.MaximumEventAgeInSeconds * 1000)
      reason = 'MAXIMUM_EVENT_AGE_EXCEEDED';
    const updated: Delivery = { ...delivery, attempts, dueAt, lastError: message };
    if (reason === undefined) {
      ctx.store.put(NS.pending, delivery.id, updated);
      ctx.log.warn('eventbridge delivery failed, will retry', {
        rule: delivery.ruleName,
        target: delivery.target.Id,
        attempts,
        error: message,
      });
      this.#schedule(ctx, updated);
      return;
    }
    const dead: DeadLetter = { ...updated, failedAt: now, reason };
    ctx.store.put(NS.deadLetters, delivery.id, dead);
    ctx.store.delete(NS.pending, delivery.id);
    ctx.log.error('eventbridge delivery dead-lettered', {
      rule: delivery.ruleName,
      target: delivery.target.Id,
      deadLetterArn: delivery.target.DeadLetterConfig?.Arn,
      reason,
      error: message,
    });
  }
}

/** Keeps the last `limit` events of each bus in the store, oldest first. */
export class EventLog {
  readonly #limit: number;
  // Per store, so one service object can serve several stores (tests) without mixing their logs.
  readonly #state = new WeakMap<StateStore, { seq: number; keys: Map<string, string[]> }>();

  constructor(limit = 500) {
    this.#limit = limit;
  }

  append(store: StateStore, entry: Omit<EventLogEntry, 'seq'>): void {
    const state = this.#state.get(store) ?? this.#load(store);
    state.seq += 1;
    const key = `${entry.eventBusName}|${String(state.seq).padStart(12, '0')}`;
    store.put(NS.log, key, { seq: state.seq, ...entry });
    const keys = state.keys.get(entry.eventBusName) ?? [];
    keys.push(key);
    state.keys.set(entry.eventBusName, keys);
    while (keys.length > this.#limit) store.delete(NS.log, keys.shift() as string);
  }

  #load(store: StateStore): { seq: number; keys: Map<string, string[]> } {
    const state = { seq: 0, keys: new Map<string, string[]>() };
    for (const [key, entry] of store.list<EventLogEntry>(NS.log)) {
      const keys = state.keys.get(entry.eventBusName) ?? [];
      keys.push(key);
      state.keys.set(entry.eventBusName, keys);
      state.seq = Math.max(state.seq, entry.seq);
    }
    this.#state.set(store, state);
    return state;
  }
}

/** The event log of one bus (or of all buses), oldest first: for the dashboard and for tests. */
export function readEventLog(store: StateStore, eventBusName?: string): EventLogEntry[] {
  return store
    .list<EventLogEntry>(NS.log)
    .map(([, entry]) => entry)
    .filter((entry) => eventBusName === undefined || entry.eventBusName === eventBusName)
    .sort((a, b) => a.seq - b.seq);
}

/** Deliveries that never got through, oldest first. */
export function readDeadLetters(store: StateStore): DeadLetter[] {
  return store.list<DeadLetter>(NS.deadLetters).map(([, dead]) => dead);
}

/** Deliveries accepted but not yet delivered (including those waiting for a retry). */
export function readPendingDeliveries(store: StateStore): Delivery[] {
  return store.list<Delivery>(NS.pending).map(([, delivery]) => delivery);
}
