/** Records, store namespaces, ARNs and input checks shared by the local EventBridge's operations. */
import type { StateStore } from '../../store/store.ts';
import { AwsError, type BusEvent, type LocalContext } from '../types.ts';

export const NS = {
  buses: 'events:buses',
  defaultBus: 'events:default-bus',
  rules: 'events:rules',
  targets: 'events:targets',
  pending: 'events:pending',
  deadLetters: 'events:dead-letters',
  log: 'events:log',
} as const;

export const DEFAULT_BUS = 'default';

export type RuleState = 'ENABLED' | 'DISABLED' | 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';

export type BusRecord = {
  Name: string;
  Arn: string;
  Description?: string;
  CreationTime: number;
  LastModifiedTime?: number;
};

export type RuleRecord = {
  Name: string;
  Arn: string;
  EventBusName: string;
  EventPattern?: string;
  ScheduleExpression?: string;
  State: RuleState;
  Description?: string;
  RoleArn?: string;
};

export type Target = {
  Id: string;
  Arn: string;
  RoleArn?: string;
  Input?: string;
  InputPath?: string;
  InputTransformer?: { InputPathsMap?: Record<string, string>; InputTemplate: string };
  RetryPolicy?: { MaximumRetryAttempts?: number; MaximumEventAgeInSeconds?: number };
  DeadLetterConfig?: { Arn?: string };
};

/** One event on its way to one target; persisted until delivered or dead-lettered (at-least-once). */
export type Delivery = {
  id: string;
  event: BusEvent;
  ruleName: string;
  ruleArn: string;
  eventBusName: string;
  target: Target;
  attempts: number;
  /** Epoch ms when the event was accepted; the retry policy's maximum age counts from here. */
  acceptedAt: number;
  /** Epoch ms of the next attempt. */
  dueAt: number;
  lastError?: string;
};

export type DeadLetter = Delivery & { failedAt: number; reason: string };

export type EventLogEntry = { seq: number; eventBusName: string; event: BusEvent; matchedRules: string[] };

/** Event time as EventBridge writes it: ISO 8601 UTC to the second. */
export const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export const ruleKey = (bus: string, name: string) => `${bus}|${name}`;

export function busArn(ctx: LocalContext, name: string): string {
  return `arn:aws:events:${ctx.region}:${ctx.accountId}:event-bus/${name}`;
}

export function ruleArn(ctx: LocalContext, bus: string, name: string): string {
  const path = bus === DEFAULT_BUS ? name : `${bus}/${name}`;
  return `arn:aws:events:${ctx.region}:${ctx.accountId}:rule/${path}`;
}

/** `EventBusName` may be a name or a bus ARN; absent means the default bus. */
export function busName(value: unknown): string {
  if (value === undefined || value === null || value === '') return DEFAULT_BUS;
  if (typeof value !== 'string')
    throw validation(`Value at 'eventBusName' failed to satisfy constraint: Member must be a string`);
  const arn = /^arn:aws[\w-]*:events:[a-z0-9-]+:\d{12}:event-bus\/(.+)$/.exec(value);
  return arn?.[1] ?? value;
}

export function validation(detail: string): AwsError {
  return new AwsError('ValidationException', `1 validation error detected: ${detail}`);
}

const NAME = /^[.\-_A-Za-z0-9]+$/;

/** Checks a rule or target name against the API model (1–64 of `[.\-_A-Za-z0-9]`). */
export function checkName(value: unknown, member: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw validation(`Value null at '${member}' failed to satisfy constraint: Member must not be null`);
  }
  if (value.length > 64) {
    throw validation(
      `Value '${value}' at '${member}' failed to satisfy constraint: Member must have length less than or equal to 64`,
    );
  }
  if (!NAME.test(value)) {
    throw validation(
      `Value '${value}' at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+`,
    );
  }
  return value;
}

export function optionalString(value: unknown, member: string, max: number): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new AwsError('SerializationException', `${member} must be a string`);
  if (value.length > max) {
    throw validation(
      `Value at '${member}' failed to satisfy constraint: Member must have length less than or equal to ${max}`,
    );
  }
  return value;
}

export function requireBus(store: StateStore, name: string): void {
  if (name === DEFAULT_BUS) return;
  if (!store.get(NS.buses, name)) throw new AwsError('ResourceNotFoundException', `Event bus ${name} does not exist.`);
}

export function requireRule(store: StateStore, bus: string, name: string): RuleRecord {
  requireBus(store, bus);
  const rule = store.get<RuleRecord>(NS.rules, ruleKey(bus, name));
  if (!rule) throw new AwsError('ResourceNotFoundException', `Rule ${name} does not exist on EventBus ${bus}.`);
  return rule;
}
