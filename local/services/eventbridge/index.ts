/**
 * The local EventBridge (awsJson 1.1, `X-Amz-Target: AWSEvents.<Operation>`): buses, rules and targets, PutEvents
 * with pattern matching and asynchronous, retried, persisted delivery, and TestEventPattern.
 */
import { randomUUID } from 'node:crypto';
import { AwsError, type BusEvent, type JsonService, type LocalContext } from '../types.ts';
import { type Clock, Dispatcher, EventLog } from './delivery.ts';
import { busArn, busName, type Delivery, isoSeconds, NS } from './model.ts';
import { type CompiledPattern, compilePattern, InvalidEventPatternError, matches } from './pattern.ts';
import { acceptsFrom, putPermission, putPolicyStatement, removePermission } from './permissions.ts';
import {
  activeRules,
  createEventBus,
  deleteEventBus,
  deleteRule,
  describeEventBus,
  describeRule,
  disableRule,
  enableRule,
  listEventBuses,
  listRuleNamesByTarget,
  listRules,
  listTargetsByRule,
  putRule,
  putTargets,
  removeTargets,
} from './rules.ts';
import { RuleSchedules } from './schedules.ts';

export { readDeadLetters, readEventLog, readPendingDeliveries } from './delivery.ts';
export { compilePattern, InvalidEventPatternError, matchEventPattern } from './pattern.ts';

type ResultEntry = { EventId?: string; ErrorCode?: string; ErrorMessage?: string };

const MAX_REQUEST_BYTES = 256 * 1024;

/** The envelope fields TestEventPattern insists on (the API reference also names `resources`; AWS does not). */
const REQUIRED_EVENT_FIELDS = ['id', 'account', 'source', 'time', 'region', 'detail-type'];

/** `Time` arrives as epoch seconds on the wire (awsJson), or as a Date/string from in-process callers. */
function eventTime(value: unknown, now: number): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number') return value * 1000;
  if (typeof value === 'string') {
    const parsed = /^\d+(\.\d+)?$/.test(value) ? Number(value) * 1000 : Date.parse(value);
    if (!Number.isNaN(parsed)) return parsed;
  }
  return now;
}

export type EventBridgeOptions = {
  /** Time and timers for delivery retries (tests inject a manual clock). */
  clock?: Clock;
  /** Delay before retry number `retry` (1-based), in ms. */
  backoff?: (retry: number) => number;
  /** Events kept per bus in the event log. */
  eventLogSize?: number;
};

export type EventBridgeService = JsonService & {
  /** Resolves once no delivery attempt is running. */
  idle(): Promise<void>;
};

/** Builds an EventBridge service; `service` below is the instance the local cloud loads. */
export function createEventBridge(options: EventBridgeOptions = {}): EventBridgeService {
  const dispatcher = new Dispatcher({
    ...(options.clock && { clock: options.clock }),
    ...(options.backoff && { backoff: options.backoff }),
  });
  const log = new EventLog(options.eventLogSize ?? 500);
  const schedules = new RuleSchedules(dispatcher.clock, dispatcher);
  // Operations that change rules also re-arm the timers of scheduled rules.
  const rescheduling =
    <I>(op: (input: I, ctx: LocalContext) => unknown) =>
    (input: I, ctx: LocalContext) => {
      const out = op(input, ctx);
      schedules.sync(ctx);
      return out;
    };
  const compiled = new Map<string, CompiledPattern>();
  const patternOf = (text: string): CompiledPattern => {
    let pattern = compiled.get(text);
    if (!pattern) {
      pattern = compilePattern(text);
      compiled.set(text, pattern);
    }
    return pattern;
  };

  function putEvents(input: Record<string, unknown>, ctx: LocalContext) {
    const entries = input.Entries;
    if (!Array.isArray(entries) || entries.length === 0) {
      throw new AwsError(
        'ValidationException',
        "1 validation error detected: Value '[]' at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1",
      );
    }
    if (entries.length > 10) {
      throw new AwsError(
        'ValidationException',
        "1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10",
      );
    }
    if (Buffer.byteLength(JSON.stringify(entries)) > MAX_REQUEST_BYTES) {
      throw new AwsError('ValidationException', 'Total size of the entries in the request is over the limit.');
    }
    const now = dispatcher.clock.now();
    const results: ResultEntry[] = [];
    const deliveries: Delivery[] = [];
    // Rules are read once per bus per request, not once per entry.
    const rulesByBus = new Map<string, ReturnType<typeof activeRules>>();
    const rulesOf = (bus: string) => {
      const rules = rulesByBus.get(bus) ?? activeRules(ctx, bus);
      rulesByBus.set(bus, rules);
      return rules;
    };
    for (const raw of entries as Array<Record<string, unknown>>) {
      const entry = typeof raw === 'object' && raw !== null ? raw : {};
      const outcome = acceptEntry(entry, ctx, now);
      if (!('event' in outcome)) {
        results.push(outcome);
        continue;
      }
      const { event, bus } = outcome;
      deliveries.push(...route(ctx, event, bus, rulesOf(bus), now));
      results.push({ EventId: event.id });
    }
    dispatcher.enqueue(ctx, deliveries);
    return { FailedEntryCount: results.filter((r) => r.ErrorCode).length, Entries: results };
  }

  /** The deliveries one event on one bus makes (a target per matching rule), and its line in the event log. */
  function route(
    ctx: LocalContext,
    event: BusEvent,
    bus: string,
    rules: ReturnType<typeof activeRules>,
    now: number,
  ): Delivery[] {
    const deliveries: Delivery[] = [];
    const matchedRules: string[] = [];
    for (const { rule, targets } of rules) {
      if (rule.EventPattern === undefined || !matches(patternOf(rule.EventPattern), event)) continue;
      matchedRules.push(rule.Name);
      for (const target of targets) {
        deliveries.push({
          id: randomUUID(),
          event,
          ruleName: rule.Name,
          ruleArn: rule.Arn,
          eventBusName: bus,
          target,
          attempts: 0,
          acceptedAt: now,
          dueAt: now,
        });
      }
    }
    log.append(ctx.store, { eventBusName: bus, event, matchedRules });
    return deliveries;
  }

  /**
   * An event another bus delivered to this one (a rule's target was this bus's ARN, in this or another account or
   * region): it keeps its id, source, account, region and time, as AWS forwards it, and meets this bus's rules.
   */
  function relayEvent(input: Record<string, unknown>, ctx: LocalContext) {
    const event = input.Event as BusEvent;
    const bus = busName(input.EventBusName);
    if (bus !== 'default' && !ctx.store.get(NS.buses, bus)) {
      throw new AwsError('ResourceNotFoundException', `Event bus ${bus} does not exist.`);
    }
    // Another account's rule sends here only when this bus's policy lets that account put events.
    const from = typeof input.SourceAccount === 'string' ? input.SourceAccount : ctx.accountId;
    if (!acceptsFrom(ctx, bus, from)) {
      throw new AwsError(
        'AccessDeniedException',
        `Account ${from} is not authorized to put events on event bus ${busArn(ctx, bus)} (no resource policy allows it).`,
        403,
      );
    }
    dispatcher.enqueue(ctx, route(ctx, event, bus, activeRules(ctx, bus), dispatcher.clock.now()));
    return {};
  }

  function acceptEntry(
    entry: Record<string, unknown>,
    ctx: LocalContext,
    now: number,
  ): ResultEntry | { event: BusEvent; bus: string } {
    const invalid = (name: string): ResultEntry => ({
      ErrorCode: 'InvalidArgument',
      ErrorMessage: `Parameter ${name} is not valid. Reason: ${name} is a required argument.`,
    });
    if (typeof entry.Source !== 'string' || entry.Source === '') return invalid('Source');
    if (typeof entry.DetailType !== 'string' || entry.DetailType === '') return invalid('DetailType');
    if (typeof entry.Detail !== 'string' || entry.Detail === '') return invalid('Detail');
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail);
    } catch {
      detail = undefined;
    }
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    if (
      entry.Resources !== undefined &&
      (!Array.isArray(entry.Resources) || entry.Resources.some((r) => typeof r !== 'string'))
    ) {
      return {
        ErrorCode: 'InvalidArgument',
        ErrorMessage: 'Parameter Resources is not valid. Reason: Resources must be a list of strings.',
      };
    }
    let bus: string;
    try {
      bus = busName(entry.EventBusName);
    } catch {
      return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter EventBusName is not valid.' };
    }
    if (bus !== 'default' && !ctx.store.get(NS.buses, bus)) {
      return { ErrorCode: 'ResourceNotFoundException', ErrorMessage: `Event bus ${bus} does not exist.` };
    }
    const event: BusEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': entry.DetailType,
      source: entry.Source,
      account: ctx.accountId,
      time: isoSeconds(eventTime(entry.Time, now)),
      region: ctx.region,
      resources: (entry.Resources as string[] | undefined) ?? [],
      detail,
    };
    return { event, bus };
  }

  function testEventPattern(input: Record<string, unknown>) {
    if (typeof input.EventPattern !== 'string') {
      throw new AwsError(
        'ValidationException',
        "1 validation error detected: Value null at 'eventPattern' failed to satisfy constraint: Member must not be null",
      );
    }
    let pattern: CompiledPattern;
    try {
      pattern = compilePattern(input.EventPattern);
    } catch (err) {
      if (err instanceof InvalidEventPatternError) throw new AwsError('InvalidEventPatternException', err.message);
      throw err;
    }
    // A malformed event is a ValidationException on AWS ("Parameter Event is not valid."), after the pattern check.
    let event: unknown;
    try {
      event = typeof input.Event === 'string' ? JSON.parse(input.Event) : undefined;
    } catch {
      event = undefined;
    }
    if (
      typeof event !== 'object' ||
      event === null ||
      Array.isArray(event) ||
      !REQUIRED_EVENT_FIELDS.every((f) => f in event)
    ) {
      throw new AwsError('ValidationException', 'Parameter Event is not valid.');
    }
    return { Result: matches(pattern, event) };
  }

  return {
    protocol: 'json',
    id: 'eventbridge',
    targetPrefix: 'AWSEvents',
    signingName: 'events',
    jsonVersion: '1.1',
    operations: {
      PutEvents: putEvents,
      TestEventPattern: testEventPattern,
      PutRule: rescheduling(putRule),
      DescribeRule: describeRule,
      ListRules: listRules,
      DeleteRule: rescheduling(deleteRule),
      EnableRule: rescheduling(enableRule),
      DisableRule: rescheduling(disableRule),
      PutTargets: putTargets,
      ListTargetsByRule: listTargetsByRule,
      RemoveTargets: removeTargets,
      CreateEventBus: createEventBus,
      DescribeEventBus: describeEventBus,
      ListEventBuses: listEventBuses,
      ListRuleNamesByTarget: listRuleNamesByTarget,
      DeleteEventBus: rescheduling(deleteEventBus),
      PutPermission: putPermission,
      RemovePermission: removePermission,
    },
    internal: { RelayEvent: relayEvent, PutPolicyStatement: putPolicyStatement },
    start(ctx: LocalContext) {
      dispatcher.resume(ctx);
      schedules.sync(ctx);
    },
    stop() {
      dispatcher.stop();
      schedules.stop();
    },
    idle: () => dispatcher.idle(),
  };
}

export const service: EventBridgeService = createEventBridge();
/** A fresh instance for another account and region (local/runtime/partitions.ts). */
export const createService = () => createEventBridge();
