import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoApprovalStore } from '#core/adapters/approval-store';
import { CodePipelineGateway } from '#core/adapters/codepipeline';
import { handleRequestEvent } from '#core/approvals/request';
import { RequestFunctionEvent } from '#core/approvals/schemas';
import { linkKeysFrom } from '#core/approvals/signing';
import { homeLocation, requireEnv } from '#core/config';
import { ValidationError } from '#core/errors';
import { lambdaHandler } from '#core/handler';
import { systemClock } from '#core/ports';
import { logger, metrics } from '#core/powertools';
import {
  codePipeline,
  codePipelineIn,
  documents,
  secretsStore,
  sesMailer,
  settingsStore,
  slackApi,
} from '#core/wiring';

// Composition root: clients and configuration once per container.
const settings = settingsStore();
const secrets = secretsStore();
const store = new DynamoApprovalStore(documents(), requireEnv('STATE_TABLE_NAME'));
const pipelines = new CodePipelineGateway(codePipeline());
const slack = slackApi();
const baseUrl = requireEnv('PUBLIC_BASE_URL');
const warn = (message: string, extra?: Record<string, unknown>) => logger.warn(message, extra ?? {});
const home = homeLocation();

/** SNS approval notifications and CodePipeline EventBridge events (discovery and lifecycle sync). */
export const handler = lambdaHandler(
  async (event: RequestFunctionEvent) => {
    const [current, secret] = await Promise.all([settings.settings(), secrets.secrets()]);
    const sender = current.notifications.emailSender;
    const outcomes = await handleRequestEvent(event, {
      store,
      pipelines,
      slack: secret.slackBotToken ? slack : undefined,
      mailer: sender ? sesMailer(sender) : undefined,
      keys: async () => linkKeysFrom(secret),
      baseUrl,
      clock: systemClock,
      warn,
      settings: async () => current,
      home,
      // A member account's pipeline is read there, through its role (docs/ORGANIZATION.md).
      pipelinesAt: async (where) =>
        new CodePipelineGateway(await codePipelineIn(where, current.organization, { purpose: 'approval' })),
    });
    for (const o of outcomes) metrics.addMetric(`Approval_${o.kind}`, MetricUnit.Count, 1);
    logger.info('approval event handled', { outcomes });
    return { outcomes };
  },
  { parse: parseRequestEvent },
);

/** The boundary: an SNS batch of approval notifications, or a CodePipeline EventBridge event. */
function parseRequestEvent(raw: unknown): RequestFunctionEvent {
  const parsed = RequestFunctionEvent.safeParse(raw);
  if (!parsed.success) {
    throw new ValidationError(
      'unexpected event for approval-request',
      parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`),
    );
  }
  return parsed.data;
}
