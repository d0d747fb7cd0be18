import { createHash, randomBytes } from 'node:crypto';
import type { StateStore } from '../../store/store.ts';
import { IAM_ROLES, type RoleRecord } from '../cloudformation/resources.ts';
import { AwsError, type Caller, type LocalContext, type QueryService } from '../types.ts';
import { evaluateTrust } from './trust.ts';

/**
 * Local STS (awsQuery, `https://sts.amazonaws.com/doc/2011-06-15/`): `AssumeRole` and `GetCallerIdentity`, so the
 * hub's functions can act in another account exactly as on AWS, and the local cloud knows who signed each request.
 *
 * Who a key is: a 12-digit access key is that account's root (the local convention SDK users already know), a key
 * `AssumeRole` issued is its session (account, role, session name, expiry), a function's key is its execution role's
 * session (registered when the function is), and any other key is the local cloud's own account.
 *
 * `AssumeRole` is evaluated as IAM does for a cross-account call, on the target side: the role must exist (local
 * CloudFormation records `AWS::IAM::Role` resources), its trust policy must allow the caller (`Principal.AWS` by
 * account, account root or ARN; `sts:ExternalId` and `aws:PrincipalArn`/`aws:PrincipalAccount` conditions), and
 * the session name, external id, source identity and duration must be valid. Refusals are `AccessDenied` (403) and
 * `ValidationError` (400) with AWS's messages. The caller's own identity policy is not evaluated (the IAM
 * simulation of the template covers that side).
 */
export const STS_SESSIONS = 'sts:sessions';

type Session = Caller & {
  secretAccessKey: string;
  sessionToken: string;
  /** ISO time; the key is refused after it. */
  expiration: string;
  roleArn: string;
  sourceIdentity?: string;
};

const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
const ROLE_ARN = /^arn:aws:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;

const upper = (n: number) =>
  randomBytes(n * 2)
    .toString('base64')
    .replace(/[^A-Z0-9]/gi, '')
    .toUpperCase()
    .slice(0, n)
    .padEnd(n, '7');

/** The principal behind an access key; throws AWS's refusal for a session key that expired. */
export const callerOf = (store: StateStore, accessKeyId: string, homeAccount: string, now = Date.now()): Caller => {
  const session = store.get<Session>(STS_SESSIONS, accessKeyId);
  if (session) {
    if (Date.parse(session.expiration) <= now) {
      throw new AwsError('ExpiredToken', 'The security token included in the request is expired', 400);
    }
    return {
      accessKeyId,
      accountId: session.accountId,
      arn: session.arn,
      principalArn: session.principalArn,
      userId: session.userId,
    };
  }
  const account = /^\d{12}$/.test(accessKeyId) ? accessKeyId : homeAccount;
  return {
    accessKeyId,
    accountId: account,
    arn: `arn:aws:iam::${account}:root`,
    principalArn: `arn:aws:iam::${account}:root`,
    userId: account,
  };
};

/**
 * Registers a session the local cloud hands out itself (a function's execution role, as Lambda gives each function
 * temporary credentials of its role): the key then signs as `assumed-role/<role>/<session>`.
 */
export const registerSession = (
  store: StateStore,
  options: { accessKeyId: string; roleArn: string; sessionName: string },
): void => {
  const m = ROLE_ARN.exec(options.roleArn);
  if (!m) throw new Error(`not a role ARN: ${options.roleArn}`);
  const [, account, roleName] = m as unknown as [string, string, string];
  // Stable across restarts, like a role's id: derived from the role's ARN.
  const roleId = `AROA${createHash('sha256').update(options.roleArn).digest('hex').toUpperCase().slice(0, 17)}`;
  const session: Session = {
    accessKeyId: options.accessKeyId,
    accountId: account,
    arn: `arn:aws:sts::${account}:assumed-role/${roleName}/${options.sessionName}`,
    principalArn: options.roleArn,
    userId: `${roleId}:${options.sessionName}`,
    secretAccessKey: 'local',
    sessionToken: 'local',
    // A function's credentials never expire locally (Lambda refreshes them on its own).
    expiration: '9999-12-31T23:59:59Z',
    roleArn: options.roleArn,
  };
  store.put(STS_SESSIONS, options.accessKeyId, session);
};

const validation = (message: string) => new AwsError('ValidationError', message, 400);

const constraint = (value: unknown, member: string, rule: string) =>
  validation(
    `1 validation error detected: Value '${String(value)}' at '${member}' failed to satisfy constraint: ${rule}`,
  );

const whoami = (ctx: LocalContext): Caller => ctx.caller ?? callerOf(ctx.store, 'local', ctx.accountId);

const assumeRole = (input: Record<string, unknown>, ctx: LocalContext) => {
  const caller = whoami(ctx);
  const roleArn = input.RoleArn;
  const sessionName = input.RoleSessionName;
  if (typeof roleArn !== 'string' || roleArn.length < 20) {
    throw constraint(roleArn ?? 'null', 'roleArn', 'Member must have length greater than or equal to 20');
  }
  if (typeof sessionName !== 'string' || !SESSION_NAME.test(sessionName)) {
    throw constraint(
      sessionName ?? 'null',
      'roleSessionName',
      typeof sessionName === 'string' && (sessionName.length < 2 || sessionName.length > 64)
        ? `Member must have length ${sessionName.length < 2 ? 'greater' : 'less'} than or equal to ${sessionName.length < 2 ? 2 : 64}`
        : 'Member must satisfy regular expression pattern: [\\w+=,.@-]*',
    );
  }
  const externalId = input.ExternalId;
  if (externalId !== undefined && (typeof externalId !== 'string' || !EXTERNAL_ID.test(externalId))) {
    throw constraint(externalId, 'externalId', 'Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*');
  }
  const sourceIdentity = input.SourceIdentity;
  if (sourceIdentity !== undefined && (typeof sourceIdentity !== 'string' || !SESSION_NAME.test(sourceIdentity))) {
    throw constraint(sourceIdentity, 'sourceIdentity', 'Member must satisfy regular expression pattern: [\\w+=,.@-]*');
  }
  const duration = input.DurationSeconds === undefined ? 3600 : Number(input.DurationSeconds);
  if (!Number.isInteger(duration) || duration < 900) {
    throw constraint(input.DurationSeconds, 'durationSeconds', 'Member must have value greater than or equal to 900');
  }
  const m = ROLE_ARN.exec(roleArn);
  const denied = () =>
    new AwsError(
      'AccessDenied',
      `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
      403,
    );
  if (!m) throw validation(`${roleArn} is invalid`);
  const role = ctx.store.get<RoleRecord>(IAM_ROLES, roleArn);
  if (!role) throw denied();
  const request = {
    principalArn: caller.principalArn,
    principalAccount: caller.accountId,
    ...(typeof sourceIdentity === 'string' ? { sourceIdentity } : {}),
  };
  const trusted = evaluateTrust(role.assumeRolePolicyDocument, {
    ...request,
    ...(typeof externalId === 'string' ? { externalId } : {}),
  });
  // Setting a source identity is an action of its own in the trust policy (sts:SetSourceIdentity), and
  // sts:ExternalId is not one of its condition keys (Service Authorization Reference): it is absent there.
  const mayTag =
    typeof sourceIdentity !== 'string' ||
    evaluateTrust(role.assumeRolePolicyDocument, request, 'sts:setsourceidentity');
  if (!trusted || !mayTag) throw denied();
  // Role chaining (a session assuming a role) is limited to one hour, as on AWS.
  const chained = caller.arn.includes(':assumed-role/');
  const max = chained ? 3600 : role.maxSessionDuration;
  if (duration > max) {
    throw validation(
      chained
        ? 'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.'
        : 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
    );
  }
  const account = m[1] as string;
  const accessKeyId = `ASIA${upper(16)}`;
  const expiration = new Date(Math.floor(Date.now() / 1000) * 1000 + duration * 1000).toISOString();
  const session: Session = {
    accessKeyId,
    accountId: account,
    arn: `arn:aws:sts::${account}:assumed-role/${role.roleName}/${sessionName}`,
    principalArn: role.arn,
    userId: `${role.roleId}:${sessionName}`,
    secretAccessKey: randomBytes(30).toString('base64'),
    sessionToken: `IQoJb3JpZ2luX2VjE${randomBytes(96).toString('base64')}`,
    expiration,
    roleArn: role.arn,
    ...(typeof sourceIdentity === 'string' ? { sourceIdentity } : {}),
  };
  ctx.store.put(STS_SESSIONS, accessKeyId, session);
  ctx.log.info('sts assume-role', { caller: caller.arn, role: role.arn, session: sessionName });
  return {
    Credentials: {
      AccessKeyId: accessKeyId,
      SecretAccessKey: session.secretAccessKey,
      SessionToken: session.sessionToken,
      Expiration: expiration.replace(/\.\d{3}Z$/, 'Z'),
    },
    AssumedRoleUser: { AssumedRoleId: session.userId, Arn: session.arn },
    PackedPolicySize: 0,
    ...(typeof sourceIdentity === 'string' ? { SourceIdentity: sourceIdentity } : {}),
  };
};

const getCallerIdentity = (_input: Record<string, unknown>, ctx: LocalContext) => {
  const caller = whoami(ctx);
  return { UserId: caller.userId, Account: caller.accountId, Arn: caller.arn };
};

export const service: QueryService = {
  protocol: 'query',
  id: 'sts',
  signingName: 'sts',
  xmlns: 'https://sts.amazonaws.com/doc/2011-06-15/',
  operations: { AssumeRole: assumeRole, GetCallerIdentity: getCallerIdentity },
};
