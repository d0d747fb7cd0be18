import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { DynamoApprovalStore } from '#core/adapters/approval-store';
import { createDocumentClient } from '#core/adapters/dynamodb';
import { SesMailer } from '#core/adapters/email';
import { ParameterStore } from '#core/adapters/parameters';
import { SlackWebApi } from '#core/adapters/slack';
import { sweepReminders } from '#core/approvals/reminders';
import { linkKeysFrom } from '#core/approvals/signing';
import { clientSettings } from '#core/clients';
import { requireEnv } from '#core/config';
import { lambdaHandler } from '#core/handler';
import { systemClock } from '#core/ports';
import { logger, metrics } from '#core/powertools';

const params = new ParameterStore({
  settingsName: requireEnv('SETTINGS_PARAMETER_NAME'),
  secretsId: requireEnv('SECRETS_ARN'),
});
const store = new DynamoApprovalStore(createDocumentClient(), requireEnv('STATE_TABLE_NAME'));
const ses = new SESv2Client(clientSettings());
const slackApi = new SlackWebApi({
  baseUrl: requireEnv('SLACK_API_URL'),
  token: async () => (await params.secrets()).slackBotToken,
});
const baseUrl = requireEnv('PUBLIC_BASE_URL');

/** Scheduled sweep: reminders, escalation and expiry of pending approvals. */
export const handler = lambdaHandler(async (_event: unknown) => {
  const [settings, secrets] = await Promise.all([params.settings(), params.secrets()]);
  const sender = settings.notifications.emailSender;
  const outcome = await sweepReminders({
    store,
    slack: secrets.slackBotToken ? slackApi : undefined,
    mailer: sender ? new SesMailer(ses, sender) : undefined,
    keys: async () => linkKeysFrom(secrets),
    baseUrl,
    clock: systemClock,
    warn: (message, extra) => logger.warn(message, extra ?? {}),
  });
  metrics.addMetric('ApprovalReminders', MetricUnit.Count, outcome.reminded.length);
  metrics.addMetric('ApprovalEscalations', MetricUnit.Count, outcome.escalated.length);
  metrics.addMetric('ApprovalsExpired', MetricUnit.Count, outcome.expired.length);
  logger.info('approval sweep done', {
    reminded: outcome.reminded.length,
    escalated: outcome.escalated.length,
    expired: outcome.expired.length,
  });
  return outcome;
});
