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
import { type ClientOptions, clientSettings } from './clients.ts';
import { requireEnv } from './config.ts';
import type { Mailer } from './ports.ts';
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
