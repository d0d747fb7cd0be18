/**
 * Scheduled rules created through the API (`PutRule` with `rate(…)`): each enabled one sends a "Scheduled Event"
 * to its targets on its rate. `cron(…)` rules are accepted and stored but do not fire locally. The template's own
 * schedules are run by the local runtime's scheduler, not here.
 */
import { randomUUID } from 'node:crypto';
import type { BusEvent, LocalContext } from '../types.ts';
import type { Clock, Dispatcher } from './delivery.ts';
import { DEFAULT_BUS, type Delivery, isoSeconds, NS, type RuleRecord, ruleKey, type Target } from './model.ts';
import { rateMillis } from './rules.ts';

export class RuleSchedules {
  readonly #clock: Clock;
  readonly #dispatcher: Dispatcher;
  readonly #timers = new Map<string, { handle: unknown; expression: string }>();

  constructor(clock: Clock, dispatcher: Dispatcher) {
    this.#clock = clock;
    this.#dispatcher = dispatcher;
  }

  /** Brings the timers in line with the stored rules (after start and after every rule change). */
  sync(ctx: LocalContext): void {
    const wanted = new Map<string, string>();
    for (const [key, rule] of ctx.store.list<RuleRecord>(NS.rules)) {
      if (rule.State === 'DISABLED' || rule.ScheduleExpression === undefined) continue;
      if (rateMillis(rule.ScheduleExpression) !== undefined) wanted.set(key, rule.ScheduleExpression);
    }
    for (const [key, timer] of this.#timers) {
      if (wanted.get(key) !== timer.expression) {
        this.#clock.clearTimeout(timer.handle);
        this.#timers.delete(key);
      }
    }
    for (const [key, expression] of wanted) if (!this.#timers.has(key)) this.#arm(ctx, key, expression);
  }

  stop(): void {
    for (const timer of this.#timers.values()) this.#clock.clearTimeout(timer.handle);
    this.#timers.clear();
  }

  #arm(ctx: LocalContext, key: string, expression: string): void {
    const every = rateMillis(expression) as number;
    const handle = this.#clock.setTimeout(() => {
      this.#timers.delete(key);
      const rule = ctx.store.get<RuleRecord>(NS.rules, key);
      if (!rule || rule.State === 'DISABLED' || rule.ScheduleExpression !== expression) return;
      fireScheduledRule(ctx, this.#dispatcher, rule);
      this.#arm(ctx, key, expression);
    }, every);
    this.#timers.set(key, { handle, expression });
  }
}

/** Sends one "Scheduled Event" for a rule to its targets, as EventBridge does on each tick of a schedule. */
export function fireScheduledRule(ctx: LocalContext, dispatcher: Dispatcher, rule: RuleRecord): BusEvent {
  const now = dispatcher.clock.now();
  const event: BusEvent = {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: ctx.accountId,
    time: isoSeconds(now),
    region: ctx.region,
    resources: [rule.Arn],
    detail: {},
  };
  const targets = ctx.store.get<Target[]>(NS.targets, ruleKey(rule.EventBusName ?? DEFAULT_BUS, rule.Name)) ?? [];
  const deliveries: Delivery[] = targets.map((target) => ({
    id: randomUUID(),
    event,
    ruleName: rule.Name,
    ruleArn: rule.Arn,
    eventBusName: rule.EventBusName,
    target,
    attempts: 0,
    acceptedAt: now,
    dueAt: now,
  }));
  dispatcher.enqueue(ctx, deliveries);
  return event;
}
