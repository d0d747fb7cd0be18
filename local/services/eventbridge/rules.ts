/** Event buses, rules and targets: the EventBridge control-plane operations, persisted under 'events:*'. */

import { AwsError, type LocalContext } from '../types.ts';
import {
  type BusRecord,
  busArn,
  busName,
  checkName,
  DEFAULT_BUS,
  NS,
  optionalString,
  type RuleRecord,
  type RuleState,
  requireBus,
  requireRule,
  ruleArn,
  ruleKey,
  type Target,
  validation,
} from './model.ts';
import { compilePattern, InvalidEventPatternError } from './pattern.ts';
import { policyOf } from './permissions.ts';
import { checkTargetInput } from './transform.ts';

const STATES: RuleState[] = ['ENABLED', 'DISABLED', 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS'];
const MAX_TARGETS_PER_RULE = 5;

/** Validates an event pattern, turning a refusal into the API error AWS returns. */
export function checkPattern(pattern: string): void {
  try {
    compilePattern(pattern);
  } catch (err) {
    if (err instanceof InvalidEventPatternError) throw new AwsError('InvalidEventPatternException', err.message);
    throw err;
  }
}

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\(([^\s()]+ ){5}[^\s()]+\)$/;

/** `rate(1 minute)`, `rate(5 minutes)`, … or a six-field `cron(…)`; singular units only for 1, as in AWS. */
export function checkSchedule(expression: string): void {
  const rate = RATE.exec(expression);
  if (rate) {
    const value = Number(rate[1]);
    const plural = (rate[2] as string).endsWith('s');
    if (value >= 1 && plural === value > 1) return;
  } else if (CRON.test(expression)) return;
  throw new AwsError('ValidationException', 'Parameter ScheduleExpression is not valid.');
}

/** Milliseconds between runs of a `rate(…)` schedule, or undefined for `cron(…)`. */
export function rateMillis(expression: string): number | undefined {
  const rate = RATE.exec(expression);
  if (!rate) return undefined;
  const unit = (rate[2] as string).replace(/s$/, '');
  const ms = unit === 'minute' ? 60_000 : unit === 'hour' ? 3_600_000 : 86_400_000;
  return Number(rate[1]) * ms;
}

export function putRule(input: Record<string, unknown>, ctx: LocalContext) {
  const name = checkName(input.Name, 'name');
  const bus = busName(input.EventBusName);
  requireBus(ctx.store, bus);
  const pattern = optionalString(input.EventPattern, 'eventPattern', 4096);
  const schedule = optionalString(input.ScheduleExpression, 'scheduleExpression', 256);
  const description = optionalString(input.Description, 'description', 512);
  if (pattern === undefined && schedule === undefined) {
    throw new AwsError('ValidationException', 'Parameter(s) EventPattern or ScheduleExpression must be specified.');
  }
  if (pattern !== undefined) checkPattern(pattern);
  if (schedule !== undefined) {
    if (bus !== DEFAULT_BUS) {
      throw new AwsError('ValidationException', 'ScheduleExpression is supported only on the default event bus.');
    }
    checkSchedule(schedule);
  }
  const state = (input.State ?? 'ENABLED') as RuleState;
  if (!STATES.includes(state)) {
    throw validation(
      `Value '${String(state)}' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [${STATES.join(', ')}]`,
    );
  }
  const rule: RuleRecord = {
    Name: name,
    Arn: ruleArn(ctx, bus, name),
    EventBusName: bus,
    State: state,
    ...(pattern !== undefined && { EventPattern: pattern }),
    ...(schedule !== undefined && { ScheduleExpression: schedule }),
    ...(description !== undefined && { Description: description }),
    ...(typeof input.RoleArn === 'string' && { RoleArn: input.RoleArn }),
  };
  ctx.store.put(NS.rules, ruleKey(bus, name), rule);
  return { RuleArn: rule.Arn };
}

export function describeRule(input: Record<string, unknown>, ctx: LocalContext) {
  const rule = requireRule(ctx.store, busName(input.EventBusName), checkName(input.Name, 'name'));
  return { ...rule, CreatedBy: ctx.accountId };
}

function page<T>(items: T[], input: Record<string, unknown>): { items: T[]; NextToken?: string } {
  const start = typeof input.NextToken === 'string' ? Number.parseInt(input.NextToken, 10) || 0 : 0;
  const limit = typeof input.Limit === 'number' && input.Limit > 0 ? Math.min(input.Limit, 100) : 100;
  const slice = items.slice(start, start + limit);
  return start + limit < items.length ? { items: slice, NextToken: String(start + limit) } : { items: slice };
}

export function listRules(input: Record<string, unknown>, ctx: LocalContext) {
  const bus = busName(input.EventBusName);
  requireBus(ctx.store, bus);
  const prefix = typeof input.NamePrefix === 'string' ? input.NamePrefix : '';
  const rules = ctx.store
    .list<RuleRecord>(NS.rules)
    .map(([, rule]) => rule)
    .filter((rule) => rule.EventBusName === bus && rule.Name.startsWith(prefix))
    .sort((a, b) => a.Name.localeCompare(b.Name));
  const { items, NextToken } = page(rules, input);
  return { Rules: items, ...(NextToken && { NextToken }) };
}

export function deleteRule(input: Record<string, unknown>, ctx: LocalContext) {
  const name = checkName(input.Name, 'name');
  const bus = busName(input.EventBusName);
  requireBus(ctx.store, bus);
  const key = ruleKey(bus, name);
  // Deleting a rule that does not exist succeeds, as on AWS.
  if (!ctx.store.get(NS.rules, key)) return {};
  if ((ctx.store.get<Target[]>(NS.targets, key) ?? []).length > 0) {
    throw new AwsError('ValidationException', "Rule can't be deleted since it has targets.");
  }
  ctx.store.delete(NS.rules, key);
  ctx.store.delete(NS.targets, key);
  return {};
}

function setState(input: Record<string, unknown>, ctx: LocalContext, State: RuleState) {
  const bus = busName(input.EventBusName);
  const rule = requireRule(ctx.store, bus, checkName(input.Name, 'name'));
  ctx.store.put(NS.rules, ruleKey(bus, rule.Name), { ...rule, State });
  return {};
}

export const enableRule = (input: Record<string, unknown>, ctx: LocalContext) => setState(input, ctx, 'ENABLED');
export const disableRule = (input: Record<string, unknown>, ctx: LocalContext) => setState(input, ctx, 'DISABLED');

function toTarget(raw: unknown): Target {
  if (typeof raw !== 'object' || raw === null)
    throw new AwsError('SerializationException', 'A target must be an object');
  const t = raw as Record<string, unknown>;
  const Id = checkName(t.Id, 'targets.member.id');
  if (typeof t.Arn !== 'string' || t.Arn.length === 0) {
    throw validation(`Value null at 'targets.member.arn' failed to satisfy constraint: Member must not be null`);
  }
  // EventBridge checks the ARN's shape at PutTargets time (arn:partition:service:region:account:resource).
  if (!/^arn:aws[\w-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:.+$/.test(t.Arn)) {
    throw new AwsError(
      'ValidationException',
      `Parameter ${t.Arn} is not valid. Reason: Provided Arn is not in correct format.`,
    );
  }
  const target: Target = { Id, Arn: t.Arn };
  if (typeof t.RoleArn === 'string') target.RoleArn = t.RoleArn;
  const input = optionalString(t.Input, 'targets.member.input', 8192);
  if (input !== undefined) target.Input = input;
  const inputPath = optionalString(t.InputPath, 'targets.member.inputPath', 256);
  if (inputPath !== undefined) target.InputPath = inputPath;
  if (t.InputTransformer !== undefined && t.InputTransformer !== null) {
    target.InputTransformer = t.InputTransformer as Target['InputTransformer'];
  }
  if (t.RetryPolicy !== undefined && t.RetryPolicy !== null) {
    const policy = t.RetryPolicy as NonNullable<Target['RetryPolicy']>;
    const retries = policy.MaximumRetryAttempts;
    const age = policy.MaximumEventAgeInSeconds;
    if (retries !== undefined && (!Number.isInteger(retries) || retries < 0 || retries > 185)) {
      throw validation(
        `Value '${retries}' at 'targets.member.retryPolicy.maximumRetryAttempts' failed to satisfy constraint: Member must have value between 0 and 185`,
      );
    }
    if (age !== undefined && (!Number.isInteger(age) || age < 60 || age > 86_400)) {
      throw validation(
        `Value '${age}' at 'targets.member.retryPolicy.maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value between 60 and 86400`,
      );
    }
    target.RetryPolicy = {
      ...(retries !== undefined && { MaximumRetryAttempts: retries }),
      ...(age !== undefined && { MaximumEventAgeInSeconds: age }),
    };
  }
  if (t.DeadLetterConfig !== undefined && t.DeadLetterConfig !== null) {
    target.DeadLetterConfig = t.DeadLetterConfig as Target['DeadLetterConfig'];
  }
  checkTargetInput(target);
  return target;
}

export function putTargets(input: Record<string, unknown>, ctx: LocalContext) {
  const bus = busName(input.EventBusName);
  const rule = requireRule(ctx.store, bus, checkName(input.Rule, 'rule'));
  if (!Array.isArray(input.Targets) || input.Targets.length === 0) {
    throw validation(
      `Value null at 'targets' failed to satisfy constraint: Member must have length greater than or equal to 1`,
    );
  }
  if (input.Targets.length > 10) {
    throw validation(
      `Value at 'targets' failed to satisfy constraint: Member must have length less than or equal to 10`,
    );
  }
  const incoming = input.Targets.map(toTarget);
  const key = ruleKey(bus, rule.Name);
  const targets = ctx.store.get<Target[]>(NS.targets, key) ?? [];
  for (const target of incoming) {
    const at = targets.findIndex((t) => t.Id === target.Id);
    if (at >= 0) targets[at] = target;
    else targets.push(target);
  }
  if (targets.length > MAX_TARGETS_PER_RULE) {
    throw new AwsError(
      'LimitExceededException',
      `The requested resource exceeds the maximum number allowed. Rule ${rule.Name} may have at most ${MAX_TARGETS_PER_RULE} targets.`,
    );
  }
  ctx.store.put(NS.targets, key, targets);
  return { FailedEntryCount: 0, FailedEntries: [] };
}

/** The rules on a bus with a target of this ARN (ListRuleNamesByTarget). */
export function listRuleNamesByTarget(input: Record<string, unknown>, ctx: LocalContext) {
  const bus = busName(input.EventBusName);
  requireBus(ctx.store, bus);
  if (typeof input.TargetArn !== 'string' || input.TargetArn === '') {
    throw validation(`Value null at 'targetArn' failed to satisfy constraint: Member must not be null`);
  }
  const names = ctx.store
    .list<RuleRecord>(NS.rules)
    .filter(([, rule]) => rule.EventBusName === bus)
    .filter(([key]) => (ctx.store.get<Target[]>(NS.targets, key) ?? []).some((t) => t.Arn === input.TargetArn))
    .map(([, rule]) => rule.Name)
    .sort();
  const { items, NextToken } = page(names, input);
  return { RuleNames: items, ...(NextToken && { NextToken }) };
}

export function listTargetsByRule(input: Record<string, unknown>, ctx: LocalContext) {
  const bus = busName(input.EventBusName);
  const rule = requireRule(ctx.store, bus, checkName(input.Rule, 'rule'));
  const targets = ctx.store.get<Target[]>(NS.targets, ruleKey(bus, rule.Name)) ?? [];
  const { items, NextToken } = page(targets, input);
  return { Targets: items, ...(NextToken && { NextToken }) };
}

export function removeTargets(input: Record<string, unknown>, ctx: LocalContext) {
  const bus = busName(input.EventBusName);
  const rule = requireRule(ctx.store, bus, checkName(input.Rule, 'rule'));
  if (!Array.isArray(input.Ids) || input.Ids.length === 0) {
    throw validation(
      `Value null at 'ids' failed to satisfy constraint: Member must have length greater than or equal to 1`,
    );
  }
  const ids = new Set(input.Ids.map((id) => checkName(id, 'ids.member')));
  const key = ruleKey(bus, rule.Name);
  const targets = (ctx.store.get<Target[]>(NS.targets, key) ?? []).filter((t) => !ids.has(t.Id));
  ctx.store.put(NS.targets, key, targets);
  return { FailedEntryCount: 0, FailedEntries: [] };
}

/** Enabled rules with an event pattern on a bus, with their targets. */
export function activeRules(ctx: LocalContext, bus: string): Array<{ rule: RuleRecord; targets: Target[] }> {
  return ctx.store
    .list<RuleRecord>(NS.rules)
    .map(([key, rule]) => ({ key, rule }))
    .filter(({ rule }) => rule.EventBusName === bus && rule.State !== 'DISABLED')
    .map(({ key, rule }) => ({ rule, targets: ctx.store.get<Target[]>(NS.targets, key) ?? [] }));
}

// --- event buses (custom buses beside the always-present default bus) ---

export function createEventBus(input: Record<string, unknown>, ctx: LocalContext) {
  const name = typeof input.Name === 'string' ? input.Name : '';
  if (!/^[/.\-_A-Za-z0-9]{1,256}$/.test(name)) {
    throw validation(
      `Value '${name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [/\\.\\-_A-Za-z0-9]+`,
    );
  }
  // As measured on AWS: the default bus always exists, and only partner buses (named after their event source) may
  // contain a slash. No partner event sources exist locally.
  if (name === DEFAULT_BUS || ctx.store.get(NS.buses, name)) {
    throw new AwsError('ResourceAlreadyExistsException', `Event bus ${name} already exists.`);
  }
  const source = typeof input.EventSourceName === 'string' ? input.EventSourceName : undefined;
  if (source === undefined && name.includes('/')) {
    throw new AwsError('ValidationException', "Event bus name must not contain '/'.");
  }
  if (source !== undefined) {
    if (source !== name) throw new AwsError('ValidationException', 'Event bus name must match event source name.');
    throw new AwsError('ResourceNotFoundException', `Event source ${source} does not exist.`);
  }
  const now = Date.now() / 1000;
  const bus: BusRecord = {
    Name: name,
    Arn: busArn(ctx, name),
    CreationTime: now,
    LastModifiedTime: now,
    ...(typeof input.Description === 'string' && { Description: input.Description }),
  };
  ctx.store.put(NS.buses, name, bus);
  return { EventBusArn: bus.Arn };
}

/** The default bus, with the time this local cloud first needed it as its creation time (kept across restarts). */
const defaultBus = (ctx: LocalContext): BusRecord => {
  let created = ctx.store.get<number>(NS.defaultBus, DEFAULT_BUS);
  if (created === undefined) {
    created = Date.now() / 1000;
    ctx.store.put(NS.defaultBus, DEFAULT_BUS, created);
  }
  return { Name: DEFAULT_BUS, Arn: busArn(ctx, DEFAULT_BUS), CreationTime: created, LastModifiedTime: created };
};

const withModified = (bus: BusRecord): BusRecord => ({
  ...bus,
  LastModifiedTime: bus.LastModifiedTime ?? bus.CreationTime,
});

export function describeEventBus(input: Record<string, unknown>, ctx: LocalContext) {
  const name = busName(input.Name);
  const policy = policyOf(ctx, name);
  const withPolicy = <T>(bus: T) => (policy ? { ...bus, Policy: JSON.stringify(policy) } : bus);
  if (name === DEFAULT_BUS) return withPolicy(defaultBus(ctx));
  const bus = ctx.store.get<BusRecord>(NS.buses, name);
  if (!bus) throw new AwsError('ResourceNotFoundException', `Event bus ${name} does not exist.`);
  return withPolicy(withModified(bus));
}

export function listEventBuses(input: Record<string, unknown>, ctx: LocalContext) {
  const prefix = typeof input.NamePrefix === 'string' ? input.NamePrefix : '';
  if (input.Limit !== undefined && input.Limit !== null) {
    if (typeof input.Limit !== 'number' || !Number.isInteger(input.Limit) || input.Limit < 1 || input.Limit > 100) {
      throw validation(
        `Value '${String(input.Limit)}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 100`,
      );
    }
  }
  const buses = [defaultBus(ctx), ...ctx.store.list<BusRecord>(NS.buses).map(([, bus]) => withModified(bus))]
    .filter((bus) => bus.Name.startsWith(prefix))
    .sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
  const { items, NextToken } = page(buses, input);
  return { EventBuses: items, ...(NextToken && { NextToken }) };
}

export function deleteEventBus(input: Record<string, unknown>, ctx: LocalContext) {
  const name = busName(input.Name);
  if (name === DEFAULT_BUS) throw new AwsError('ValidationException', 'Cannot delete event bus default.');
  for (const [key, rule] of ctx.store.list<RuleRecord>(NS.rules)) {
    if (rule.EventBusName === name) {
      ctx.store.delete(NS.rules, key);
      ctx.store.delete(NS.targets, key);
    }
  }
  ctx.store.delete(NS.buses, name);
  return {};
}
