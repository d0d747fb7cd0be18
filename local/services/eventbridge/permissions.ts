/**
 * Event bus resource policies, as EventBridge keeps them: `PutPermission` adds a statement (or replaces the whole
 * policy with `Policy`), `RemovePermission` removes one (or all), `DescribeEventBus` returns the policy, and CloudFormation's
 * `AWS::Events::EventBusPolicy` adds a statement. An event another account sends to a bus (a rule whose target is this
 * bus) arrives only when the policy allows that account `events:PutEvents`, as on AWS; the bus's own account needs no
 * policy. Conditions are not evaluated locally: a statement with one (an organization id) does not match.
 */
import { AwsError, type LocalContext } from '../types.ts';
import { busArn, DEFAULT_BUS, NS } from './model.ts';

export const POLICIES = 'events:policies';

type Statement = {
  Sid?: string;
  Effect?: string;
  Principal?: unknown;
  Action?: unknown;
  Resource?: unknown;
  Condition?: unknown;
};
type PolicyDocument = { Version: string; Statement: Statement[] };

const validation = (message: string) => new AwsError('ValidationException', message);

const busOf = (input: Record<string, unknown>, ctx: LocalContext): string => {
  const raw = input.EventBusName;
  const name =
    typeof raw === 'string' && raw !== ''
      ? raw.startsWith('arn:')
        ? raw.slice(raw.indexOf('event-bus/') + 'event-bus/'.length)
        : raw
      : DEFAULT_BUS;
  if (name !== DEFAULT_BUS && !ctx.store.get(NS.buses, name)) {
    throw new AwsError('ResourceNotFoundException', `Event bus ${name} does not exist.`);
  }
  return name;
};

export const policyOf = (ctx: LocalContext, bus: string): PolicyDocument | undefined =>
  ctx.store.get<PolicyDocument>(POLICIES, bus);

const save = (ctx: LocalContext, bus: string, doc: PolicyDocument) => {
  if (doc.Statement.length === 0) ctx.store.delete(POLICIES, bus);
  else ctx.store.put(POLICIES, bus, doc);
};

const withStatement = (ctx: LocalContext, bus: string, statement: Statement): void => {
  const doc = policyOf(ctx, bus) ?? { Version: '2012-10-17', Statement: [] };
  const others = doc.Statement.filter((s) => s.Sid !== statement.Sid);
  save(ctx, bus, { ...doc, Statement: [...others, statement] });
};

export function putPermission(input: Record<string, unknown>, ctx: LocalContext) {
  const bus = busOf(input, ctx);
  if (typeof input.Policy === 'string') {
    let doc: PolicyDocument;
    try {
      doc = JSON.parse(input.Policy) as PolicyDocument;
    } catch {
      throw validation('Policy is not valid JSON.');
    }
    if (!Array.isArray(doc.Statement)) throw validation('Policy must contain a Statement list.');
    save(ctx, bus, doc);
    return {};
  }
  const { Action, Principal, StatementId } = input;
  if (Action !== 'events:PutEvents') throw validation("Provided value in parameter 'action' is not supported.");
  if (typeof Principal !== 'string' || !/^(\d{12}|\*)$/.test(Principal)) {
    throw validation("Parameter Principal is not valid. Reason: Principal must be a 12-digit account id or '*'.");
  }
  if (typeof StatementId !== 'string' || !/^[a-zA-Z0-9-_]{1,64}$/.test(StatementId)) {
    throw validation('Parameter StatementId is not valid.');
  }
  withStatement(ctx, bus, {
    Sid: StatementId,
    Effect: 'Allow',
    Principal: Principal === '*' ? '*' : { AWS: `arn:aws:iam::${Principal}:root` },
    Action: 'events:PutEvents',
    Resource: busArn(ctx, bus),
    ...(input.Condition ? { Condition: input.Condition } : {}),
  });
  return {};
}

export function removePermission(input: Record<string, unknown>, ctx: LocalContext) {
  const bus = busOf(input, ctx);
  if (input.RemoveAllPermissions === true) {
    ctx.store.delete(POLICIES, bus);
    return {};
  }
  const doc = policyOf(ctx, bus);
  const sid = input.StatementId;
  if (!doc?.Statement.some((s) => s.Sid === sid)) {
    throw new AwsError('ResourceNotFoundException', 'Statement with the provided id does not exist.');
  }
  save(ctx, bus, { ...doc, Statement: doc.Statement.filter((s) => s.Sid !== sid) });
  return {};
}

/** CloudFormation's AWS::Events::EventBusPolicy (and the local wiring of the template's): one statement, by id. */
export function putPolicyStatement(input: Record<string, unknown>, ctx: LocalContext) {
  const bus = busOf(input, ctx);
  const statement = input.Statement as Statement | undefined;
  if (!statement || typeof statement !== 'object') throw validation('Statement is required.');
  withStatement(ctx, bus, { ...statement, Sid: String(input.StatementId ?? statement.Sid ?? 'statement') });
  return {};
}

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

/** Whether the bus accepts `events:PutEvents` from another account (its own account always may). */
export const acceptsFrom = (ctx: LocalContext, bus: string, account: string): boolean => {
  if (account === ctx.accountId) return true;
  const doc = policyOf(ctx, bus);
  return (doc?.Statement ?? []).some((s) => {
    if (s.Effect !== 'Allow' || s.Condition !== undefined) return false;
    const actions = list(s.Action).map(String);
    if (!actions.some((a) => a === 'events:PutEvents' || a === 'events:*' || a === '*')) return false;
    if (s.Principal === '*') return true;
    const principals = list((s.Principal as { AWS?: unknown } | undefined)?.AWS).map(String);
    return principals.some((p) => p === '*' || p === account || p === `arn:aws:iam::${account}:root`);
  });
};
