import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { DynamoApprovalStore } from '#core/adapters/approval-store';
import { CodePipelineGateway } from '#core/adapters/codepipeline';
import { createDocumentClient } from '#core/adapters/dynamodb';
import { SesMailer } from '#core/adapters/email';
import { ParameterStore } from '#core/adapters/parameters';
import { SlackWebApi } from '#core/adapters/slack';
import { handleRequestEvent } from '#core/approvals/request';
import { RequestFunctionEvent } from '#core/approvals/schemas';
import { linkKeysFrom } from '#core/approvals/signing';
import { clientSettings } from '#core/clients';
import { requireEnv } from '#core/config';
import { ValidationError } from '#core/errors';
import { lambdaHandler } from '#core/handler';
import { systemClock } from '#core/ports';
import { logger, metrics } from '#core/powertools';

// Composition root: clients and configuration once per container.
const params = new ParameterStore({
  settingsName: requireEnv('SETTINGS_PARAMETER_NAME'),
  secretsId: requireEnv('SECRETS_ARN'),
});
const store = new DynamoApprovalStore(createDocumentClient(), requireEnv('STATE_TABLE_NAME'));
const pipelines = new CodePipelineGateway(new CodePipelineClient(clientSettings()));
const ses = new SESv2Client(clientSettings());
const slackApi = new SlackWebApi({
  baseUrl: requireEnv('SLACK_API_URL'),
  token: async () => (await params.secrets()).slackBotToken,
});
const baseUrl = requireEnv('PUBLIC_BASE_URL');
const warn = (message: string, extra?: Record<string, unknown>) => logger.warn(message, extra ?? {});

/** SNS approval notifications and CodePipeline EventBridge events (discovery and lifecycle sync). */
export const handler = lambdaHandler(async (event: unknown) => {
  const parsed = RequestFunctionEvent.safeParse(event);
  if (!parsed.success) {
    throw new ValidationError(
      'unexpected event for approval-request',
      parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`),
    );
  }
  const [settings, secrets] = await Promise.all([params.settings(), params.secrets()]);
  const sender = settings.notifications.emailSender;
  const outcomes = await handleRequestEvent(parsed.data, {
    store,
    pipelines,
    slack: secrets.slackBotToken ? slackApi : undefined,
    mailer: sender ? new SesMailer(ses, sender) : undefined,
    keys: async () => linkKeysFrom(secrets),
    baseUrl,
    clock: systemClock,
    warn,
    settings: async () => settings,
  });
  for (const o of outcomes) metrics.addMetric(`Approval_${o.kind}`, MetricUnit.Count, 1);
  logger.info('approval event handled', { outcomes });
  return { outcomes };
});
