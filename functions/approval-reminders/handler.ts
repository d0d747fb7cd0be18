import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoApprovalStore } from '#core/adapters/approval-store';
import { sweepReminders } from '#core/approvals/reminders';
import { linkKeysFrom } from '#core/approvals/signing';
import { requireEnv } from '#core/config';
import { lambdaHandler } from '#core/handler';
import { systemClock } from '#core/ports';
import { logger, metrics } from '#core/powertools';
import { documents, secretsStore, sesMailer, settingsStore, slackApi } from '#core/wiring';

const settings = settingsStore();
const secrets = secretsStore();
const store = new DynamoApprovalStore(documents(), requireEnv('STATE_TABLE_NAME'));
const slack = slackApi();
const baseUrl = requireEnv('PUBLIC_BASE_URL');

/** Scheduled sweep: reminders, escalation and expiry of pending approvals. */
export const handler = lambdaHandler(async (_event: unknown) => {
  const [current, secret] = await Promise.all([settings.settings(), secrets.secrets()]);
  const sender = current.notifications.emailSender;
  const outcome = await sweepReminders({
    store,
    slack: secret.slackBotToken ? slack : undefined,
    mailer: sender ? sesMailer(sender) : undefined,
    keys: async () => linkKeysFrom(secret),
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
