import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { CodePipelineGateway } from '#core/adapters/codepipeline';
import { createDocumentClient } from '#core/adapters/dynamodb';
import { SesMailer } from '#core/adapters/email';
import { ParameterStore } from '#core/adapters/parameters';
import { SlackWebApi } from '#core/adapters/slack';
import { StepFunctionsTeardown } from '#core/adapters/stepfunctions';
import { DynamoEventLedger, DynamoRateLimiter, DynamoTimelineStore } from '#core/adapters/timeline-store';
import { clientSettings } from '#core/clients';
import { requireEnv } from '#core/config';
import { lambdaHandler } from '#core/handler';
import type { Mailer } from '#core/ports';
import { systemClock } from '#core/ports';
import { logger, metrics, tracer } from '#core/powertools';
import { planTeardown } from '#core/teardown/trigger';
import { handlePipelineEvent, type PipelineEventsDeps } from './handle.ts';

// Composition root: clients and configuration built once per container; required env fails at init.
const tableName = requireEnv('STATE_TABLE_NAME');
const parameters = new ParameterStore({
  settingsName: requireEnv('SETTINGS_PARAMETER_NAME'),
  secretsId: requireEnv('SECRETS_ARN'),
});
const doc = createDocumentClient();
const ses = tracer.captureAWSv3Client(new SESv2Client(clientSettings()));
const mailers = new Map<string, Mailer>();

const deps: PipelineEventsDeps = {
  timeline: new DynamoTimelineStore(doc, tableName),
  ledger: new DynamoEventLedger(doc, tableName),
  rateLimiter: new DynamoRateLimiter(doc, tableName),
  pipelines: new CodePipelineGateway(tracer.captureAWSv3Client(new CodePipelineClient(clientSettings()))),
  slack: new SlackWebApi({
    baseUrl: requireEnv('SLACK_API_URL'),
    token: async () => (await parameters.secrets()).slackBotToken,
  }),
  mailer: (from) => {
    let mailer = mailers.get(from);
    if (!mailer) {
      mailer = new SesMailer(ses, from);
      mailers.set(from, mailer);
    }
    return mailer;
  },
  settings: parameters,
  teardown: {
    plan: planTeardown,
    starter: new StepFunctionsTeardown(
      tracer.captureAWSv3Client(new SFNClient(clientSettings())),
      requireEnv('TEARDOWN_STATE_MACHINE_ARN'),
    ),
  },
  clock: systemClock,
  logger,
};

export const handler = lambdaHandler(
  async (event: unknown) => {
    const outcome = await handlePipelineEvent(event, deps);
    if (outcome.status === 'duplicate') {
      metrics.addMetric('DuplicateEvents', MetricUnit.Count, 1);
    } else {
      metrics.addMetric(outcome.advanced ? 'TransitionsRecorded' : 'StaleEvents', MetricUnit.Count, 1);
      if (outcome.notification.status === 'rate-limited')
        metrics.addMetric('NotificationsSuppressed', MetricUnit.Count, 1);
      // A defect while notifying completes the event instead of failing it on every retry: counted here.
      if (outcome.notification.status === 'failed') metrics.addMetric('NotificationsFailed', MetricUnit.Count, 1);
      if (outcome.notification.status === 'sent') {
        metrics.addMetric('NotificationsSent', MetricUnit.Count, outcome.notification.delivered.length);
      }
      if (outcome.teardown === 'started') metrics.addMetric('TeardownsStarted', MetricUnit.Count, 1);
    }
    return outcome;
  },
  { correlationIdPath: 'id' },
);
