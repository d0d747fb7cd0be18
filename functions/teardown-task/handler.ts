import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { CloudFormationTeardown } from '#core/adapters/cloudformation';
import { CodePipelineGateway } from '#core/adapters/codepipeline';
import { createDocumentClient } from '#core/adapters/dynamodb';
import { SesMailer } from '#core/adapters/email';
import { EventBridgePublisher } from '#core/adapters/eventbridge';
import { ParameterStore } from '#core/adapters/parameters';
import { SlackWebApi } from '#core/adapters/slack';
import { DynamoTeardownStore } from '#core/adapters/teardown-store';
import { clientSettings } from '#core/clients';
import { requireEnv } from '#core/config';
import { ConfigError } from '#core/errors';
import { lambdaHandler } from '#core/handler';
import { systemClock } from '#core/ports';
import { logger } from '#core/powertools';
import { type DispatchDeps, dispatch } from '#core/teardown/dispatch';
import type { BucketCleaner, ImageCleaner } from '#core/teardown/ports';

// Built once per container: clients, adapters and the settings cache.
const parameters = new ParameterStore({
  settingsName: requireEnv('SETTINGS_PARAMETER_NAME'),
  secretsId: requireEnv('SECRETS_ARN'),
});
const store = new DynamoTeardownStore(
  createDocumentClient(new DynamoDBClient(clientSettings())),
  requireEnv('STATE_TABLE_NAME'),
);
const pipelines = new CodePipelineGateway(new CodePipelineClient(clientSettings()));
const ses = new SESv2Client(clientSettings());
const slack = new SlackWebApi({
  baseUrl: requireEnv('SLACK_API_URL'),
  token: async () => (await parameters.secrets()).slackBotToken,
});

/** Built on first use and kept for the container; a failed load is tried again on the next use. */
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

// The remediation clients (S3, ECR) are loaded on first use: most runs never empty a bucket or delete an image,
// and their SDK modules are a large share of this function's cold start.
const bucketCleaner = once(async (): Promise<BucketCleaner> => {
  const [{ S3Client }, { S3BucketCleaner }] = await Promise.all([
    import('@aws-sdk/client-s3'),
    import('#core/adapters/s3-cleanup'),
  ]);
  return new S3BucketCleaner(new S3Client(clientSettings()));
});
const imageCleaner = once(async (): Promise<ImageCleaner> => {
  const [{ ECRClient }, { EcrImageCleaner }] = await Promise.all([
    import('@aws-sdk/client-ecr'),
    import('#core/adapters/ecr'),
  ]);
  return new EcrImageCleaner(new ECRClient(clientSettings()));
});

const deps: DispatchDeps = {
  stacks: new CloudFormationTeardown(new CloudFormationClient(clientSettings())),
  store,
  executions: { status: async (p, e) => (await pipelines.getPipelineExecution(p, e)).status },
  actions: {
    stacksOf: async (p, e) =>
      (await pipelines.listActionExecutions(p, e))
        .filter((a) => a.category === 'Deploy' && a.provider === 'CloudFormation' && a.configuration?.StackName)
        .map((a) => ({
          stackName: a.configuration?.StackName ?? '',
          ...(a.externalExecutionId ? { externalExecutionId: a.externalExecutionId } : {}),
        })),
  },
  buckets: { emptyBucket: async (bucket) => (await bucketCleaner()).emptyBucket(bucket) },
  images: { deleteImages: async (repository) => (await imageCleaner()).deleteImages(repository) },
  settings: () => parameters.settings(),
  clock: systemClock,
  random: Math.random,
  finish: {
    store,
    slack,
    mailer: {
      send: async (m) => {
        const sender = (await parameters.settings()).notifications.emailSender;
        if (!sender) throw new ConfigError('notifications.emailSender is not set; teardown summary email skipped');
        return new SesMailer(ses, sender).send(m);
      },
    },
    events: new EventBridgePublisher(new EventBridgeClient(clientSettings())),
    settings: () => parameters.settings(),
    now: () => systemClock.now(),
    warn: (message, extra) => logger.warn(message, extra ?? {}),
  },
};

/** One entry point for every Task state of statemachines/teardown.asl.json; the event's `action` names the step. */
export const handler = lambdaHandler(async (event: unknown) => {
  const action = typeof event === 'object' && event !== null && 'action' in event ? String(event.action) : 'unknown';
  logger.appendKeys({ teardownAction: action });
  return dispatch(event, deps);
});
