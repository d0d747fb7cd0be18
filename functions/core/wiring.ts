/**
 * The one place every function gets its AWS clients, configuration stores and Slack client: each built on first use
 * and kept for the container, with the house client settings (timeouts, retries, local endpoint) and X-Ray capture
 * when tracing is on. A handler calls what it needs at module level, so the clients it always uses are built during
 * init (which Lambda runs at full CPU); adapters a function needs only now and then (mail, bucket and image cleanup,
 * asynchronous invocation) are asynchronous and load with their SDK client on first use. Unused entries cost
 * nothing: every export is side-effect free, so esbuild drops it, and the SDK package behind it, from the bundles
 * that do not call it.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from './adapters/dynamodb.ts';
import { SecretsStore } from './adapters/secrets-store.ts';
import { SettingsStore } from './adapters/settings-store.ts';
import { SlackWebApi } from './adapters/slack.ts';
import { type ClientOptions, type ClientSettings, clientSettings } from './clients.ts';
import { homeLocation, requireEnv } from './config.ts';
import { accessTo, type Location, memberRoleArn, sessionName, sourceIdentity } from './organization/location.ts';
import type { Mailer } from './ports.ts';
import type { OrganizationSettings } from './settings.ts';
import type { BucketCleaner, ImageCleaner } from './teardown/ports.ts';
import { traced } from './tracing.ts';

/** One instance per distinct options (a function may want tighter timeouts on its latency-critical path). */
const perOptions = <T>(make: (options: ClientOptions) => T): ((options?: ClientOptions) => T) => {
  const built = new Map<string, T>();
  return (options = {}) => {
    const key = JSON.stringify(options);
    let value = built.get(key);
    if (value === undefined) {
      value = make(options);
      built.set(key, value);
    }
    return value;
  };
};

/** One instance per container, built on first use. */
const single = <T>(make: () => T): (() => T) => {
  let value: T | undefined;
  return () => {
    value ??= make();
    return value;
  };
};

/** Built on first use; a failed load (a module that did not load) is tried again on the next use. */
const once = <T>(load: () => Promise<T>): (() => Promise<T>) => {
  let loading: Promise<T> | undefined;
  return () => {
    loading ??= load().catch((err: unknown) => {
      loading = undefined;
      throw err;
    });
    return loading;
  };
};

// Clients a function uses on every invocation: built at init.
export const codePipeline = /* @__PURE__ */ perOptions((o) => traced(new CodePipelineClient(clientSettings(o))));
export const cloudFormation = /* @__PURE__ */ perOptions((o) => traced(new CloudFormationClient(clientSettings(o))));
export const dynamoDb = /* @__PURE__ */ perOptions((o) => traced(new DynamoDBClient(clientSettings(o))));
export const documents = /* @__PURE__ */ perOptions((o): DynamoDBDocumentClient => createDocumentClient(dynamoDb(o)));
export const eventBridge = /* @__PURE__ */ perOptions((o) => traced(new EventBridgeClient(clientSettings(o))));
export const stepFunctions = /* @__PURE__ */ perOptions((o) => traced(new SFNClient(clientSettings(o))));

// Adapters used now and then: the adapter module and its SDK client load together on first use. (A dynamic import of
// an SDK package itself would keep every export of it; through the adapter only what the adapter sends is kept.)
/** Empties a bucket (all versions) that blocks a stack delete. */
export const bucketCleaner = /* @__PURE__ */ once(async (): Promise<BucketCleaner> => {
  const { S3BucketCleaner, S3Client } = await import('./adapters/s3-cleanup.ts');
  return new S3BucketCleaner(traced(new S3Client(clientSettings())));
});
/** Deletes the images of an ECR repository that blocks a stack delete. */
export const imageCleaner = /* @__PURE__ */ once(async (): Promise<ImageCleaner> => {
  const { EcrImageCleaner, ECRClient } = await import('./adapters/ecr.ts');
  return new EcrImageCleaner(traced(new ECRClient(clientSettings())));
});
/** Asynchronous (`Event`) invocations of a function, with a tight timeout: the caller is answering Slack. */
export const asyncInvoker = /* @__PURE__ */ once(async () => {
  const { LambdaAsyncInvoker, LambdaClient } = await import('./adapters/lambda.ts');
  return new LambdaAsyncInvoker(traced(new LambdaClient(clientSettings({ requestTimeout: 1_500, maxAttempts: 2 }))));
});
const sesMailerFor = /* @__PURE__ */ once(async () => {
  const { SesMailer, SESv2Client } = await import('./adapters/email.ts');
  const client = traced(new SESv2Client(clientSettings()));
  return (from: string): Mailer => new SesMailer(client, from);
});

/** STS for member accounts: loads with its adapter the first time a member account is reached. */
const memberSessions = /* @__PURE__ */ once(async () => {
  const { MemberSessions, STSClient } = await import('./adapters/member-sessions.ts');
  return new MemberSessions(traced(new STSClient(clientSettings())));
});

/** What an assumed-role session is for: its name in the member's CloudTrail, and for a decision, who decided. */
export type SessionPurpose = { purpose: string; approver?: string };

const MEMBER_CLIENTS_KEPT = 32;

type Session = { accessKeyId: string; secretAccessKey: string; sessionToken: string; expiration: Date };
const sessions = new Map<string, Promise<Session>>();
/** Refreshed this long before it expires (the SDK's own margin). */
const SESSION_MARGIN_MS = 5 * 60_000;

/**
 * One assumed-role session per role, session name and source identity, shared by the clients of every region and
 * service that use it, and assumed again shortly before it expires (a failed assume is not kept).
 */
const sharedSession =
  (key: string, assume: () => Promise<Session>): (() => Promise<Session>) =>
  async () => {
    const kept = sessions.get(key);
    if (kept) {
      const s = await kept.catch(() => undefined);
      if (s && s.expiration.getTime() - Date.now() > SESSION_MARGIN_MS) return s;
    }
    const fresh = assume();
    sessions.delete(key);
    sessions.set(key, fresh);
    // Bounded: the oldest session goes first (approvers × accounts could otherwise grow without end).
    if (sessions.size > 256) sessions.delete(sessions.keys().next().value as string);
    fresh.catch(() => {
      if (sessions.get(key) === fresh) sessions.delete(key);
    });
    return fresh;
  };

/**
 * Clients of one kind by location (docs/ORGANIZATION.md): the function's own client at home; in a member account,
 * a client in the resource's region signed with the member role's session, named after the purpose (and the
 * approver, who is also the session's source identity). An account outside `organization.accounts` is refused
 * before anything is assumed (NotAMemberAccountError). Member clients are kept per location, role and session
 * (at most 32; the oldest goes first); each refreshes its session before it expires.
 */
export const locatedClients = <C>(home: () => C | Promise<C>, make: (settings: ClientSettings) => C | Promise<C>) => {
  const kept = new Map<string, C | Promise<C>>();
  return async (where: Location, org: OrganizationSettings, purpose: SessionPurpose): Promise<C> => {
    const access = accessTo(where, homeLocation(), org);
    if (access.kind === 'home') return home();
    const name = sessionName(purpose.purpose, purpose.approver);
    const identity = purpose.approver ? sourceIdentity(purpose.approver) : undefined;
    const roleArn = memberRoleArn(where.accountId, where.region, access.roleName);
    const key = JSON.stringify([where.accountId, where.region, roleArn, name, identity, access.externalId]);
    const found = kept.get(key);
    if (found !== undefined) return found;
    // STS credentials are good in every region and for every service: one session per account and purpose.
    const credentials = sharedSession(JSON.stringify([roleArn, name, identity, access.externalId]), async () =>
      (await memberSessions()).assume({
        roleArn,
        sessionName: name,
        ...(access.externalId ? { externalId: access.externalId } : {}),
        ...(identity ? { sourceIdentity: identity } : {}),
      }),
    );
    const client = make({ ...clientSettings(), region: where.region, credentials });
    kept.set(key, client);
    if (client instanceof Promise) client.catch(() => kept.delete(key));
    if (kept.size > MEMBER_CLIENTS_KEPT) kept.delete(kept.keys().next().value as string);
    return client;
  };
};

/** CloudFormation where a stack lives (teardown, the sweeper, stack events). */
export const cloudFormationIn = /* @__PURE__ */ locatedClients(
  () => cloudFormation(),
  (s) => traced(new CloudFormationClient(s)),
);
/** CodePipeline where a pipeline lives (approvals, teardown discovery, the sweeper's execution check). */
export const codePipelineIn = /* @__PURE__ */ locatedClients(
  () => codePipeline(),
  (s) => traced(new CodePipelineClient(s)),
);
/** Bucket emptying where a failed stack's bucket lives (loads with its adapter on first use). */
export const bucketCleanerIn = /* @__PURE__ */ locatedClients(
  () => bucketCleaner(),
  async (s): Promise<BucketCleaner> => {
    const { S3BucketCleaner, S3Client } = await import('./adapters/s3-cleanup.ts');
    return new S3BucketCleaner(traced(new S3Client(s)));
  },
);
/** Image deletion where a failed stack's repository lives (loads with its adapter on first use). */
export const imageCleanerIn = /* @__PURE__ */ locatedClients(
  () => imageCleaner(),
  async (s): Promise<ImageCleaner> => {
    const { EcrImageCleaner, ECRClient } = await import('./adapters/ecr.ts');
    return new EcrImageCleaner(traced(new ECRClient(s)));
  },
);

/** The settings document (SSM), cached by Powertools for a minute. */
export const settingsStore = /* @__PURE__ */ single(
  () =>
    new SettingsStore({
      name: requireEnv('SETTINGS_PARAMETER_NAME'),
      client: traced(new SSMClient(clientSettings())),
    }),
);

/** Link keys and Slack credentials (Secrets Manager), cached by Powertools for a minute. */
export const secretsStore = /* @__PURE__ */ single(
  () =>
    new SecretsStore({
      id: requireEnv('SECRETS_ARN'),
      client: traced(new SecretsManagerClient(clientSettings())),
    }),
);

/** Slack's Web API with the bot token from the secret; a function without a token configured never calls it. */
export const slackApi = /* @__PURE__ */ perOptions(
  (o) =>
    new SlackWebApi({
      baseUrl: requireEnv('SLACK_API_URL'),
      token: async () => (await secretsStore().secrets()).slackBotToken,
      ...(o.requestTimeout !== undefined ? { timeoutMs: o.requestTimeout } : {}),
      ...(o.maxAttempts !== undefined ? { maxAttempts: o.maxAttempts } : {}),
    }),
);

const mailers = new Map<string, Mailer>();
/** Email from a verified SES sender; the SES client and the mailer load with the first message. */
export const sesMailer = (from: string): Mailer => {
  let mailer = mailers.get(from);
  if (mailer === undefined) {
    mailer = {
      send: async (message) => (await sesMailerFor())(from).send(message),
    };
    mailers.set(from, mailer);
  }
  return mailer;
};
