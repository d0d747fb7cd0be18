import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { DynamoApprovalStore } from '#core/adapters/approval-store';
import { CodePipelineGateway } from '#core/adapters/codepipeline';
import { EventBridgePublisher } from '#core/adapters/eventbridge';
import type { StagecrewSecrets } from '#core/adapters/secrets-store';
import { linkKeysFrom } from '#core/approvals/signing';
import { homeLocation, optionalEnv, requireEnv } from '#core/config';
import { UnavailableError } from '#core/errors';
import { lambdaHandler } from '#core/handler';
import type { Location } from '#core/organization/location';
import { systemClock } from '#core/ports';
import { logger, metrics } from '#core/powertools';
import { parseHttpApiEvent } from '#core/schemas/http-api';
import {
  asyncInvoker,
  codePipeline,
  codePipelineIn,
  documents,
  eventBridge,
  secretsStore,
  slackApi,
} from '#core/wiring';
import { type ApiDeps, BASELINE_HEADERS, type DeferredSlack, handleApprovalHttp, handleDeferredSlack } from './http.ts';
import { SlackWebDirectory } from './slack-directory.ts';

const params = secretsStore();
const store = new DynamoApprovalStore(documents(), requireEnv('STATE_TABLE_NAME'));
// Tight timeouts: Slack expects an answer within 3 s; the decision path retries throttling itself.
const pipelines = new CodePipelineGateway(
  codePipeline({ connectionTimeout: 1_000, requestTimeout: 2_000, maxAttempts: 2 }),
);
const publisher = new EventBridgePublisher(eventBridge({ requestTimeout: 2_000 }));
/**
 * Member accounts (docs/ORGANIZATION.md), from the stack parameters the settings' organization section is seeded
 * from: this function reads no settings (no SSM client at cold start). An approval is stored only when its account
 * was a member (ApprovalRequestFunction checks the settings); here the member role decides it, in a session named
 * after the approver.
 */
const home = homeLocation();
const organization = {
  accounts: (optionalEnv('MEMBER_ACCOUNT_IDS') ?? '').split(',').filter((a) => a !== ''),
  regions: [],
  roleName: optionalEnv('MEMBER_ROLE_NAME') ?? 'stagecrew-member',
  externalId: optionalEnv('MEMBER_EXTERNAL_ID') ?? '',
};
const pipelinesAt = async (where: Location, approver: string) =>
  new CodePipelineGateway(await codePipelineIn(where, organization, { purpose: 'approval', approver }));
const slack = slackApi({ requestTimeout: 2_000, maxAttempts: 2 });
const directory = new SlackWebDirectory(slack);
const baseUrl = requireEnv('PUBLIC_BASE_URL');
const slackApiUrl = requireEnv('SLACK_API_URL');

/**
 * Slack interactions are acknowledged at once and finished by an asynchronous invocation of this same function
 * (Lambda's Event invocation: queued, retried twice by Lambda on failure). The Lambda client is loaded on the first
 * Slack click only.
 */
const selfName = process.env.AWS_LAMBDA_FUNCTION_NAME;
const defer = selfName
  ? async (interaction: DeferredSlack): Promise<void> => {
      await (await asyncInvoker()).invokeAsync(selfName, { stagecrewDeferredSlack: interaction });
    }
  : undefined;

/** Slack's `response_url`s live on hooks.slack.com (locally: the Slack stand-in's origin); nothing else is called. */
const respond = async (responseUrl: string, text: string): Promise<void> => {
  const url = new URL(responseUrl);
  const allowed =
    (url.protocol === 'https:' && url.hostname === 'hooks.slack.com') || url.origin === new URL(slackApiUrl).origin;
  if (!allowed) throw new Error(`refusing a response_url outside Slack: ${url.origin}`);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text }),
    signal: AbortSignal.timeout(3_000),
  });
  if (!res.ok) throw new Error(`response_url answered HTTP ${res.status}`);
};

const depsFor = (secrets: StagecrewSecrets): ApiDeps => ({
  store,
  pipelines,
  publisher,
  home,
  pipelinesAt,
  clock: systemClock,
  slack: secrets.slackBotToken ? slack : undefined,
  directory: secrets.slackBotToken ? directory : undefined,
  keys: async () => linkKeysFrom(secrets),
  slackSigningSecret: async () => secrets.slackSigningSecret,
  baseUrl,
  warn: (message, extra) => logger.warn(message, extra ?? {}),
  ...(defer ? { defer } : {}),
  respond,
});

type Deferred = { stagecrewDeferredSlack: DeferredSlack };

const isDeferred = (event: unknown): event is Deferred =>
  typeof event === 'object' && event !== null && 'stagecrewDeferredSlack' in event;

/** The boundary: the asynchronous half of a Slack interaction (its own invocation), or an HTTP API request. */
const parseApiEvent = (raw: unknown): APIGatewayProxyEventV2 | Deferred =>
  isDeferred(raw) ? raw : parseHttpApiEvent(raw);

/** Approval page, signed decisions and Slack interactions (HTTP API payload 2.0). */
export const handler = lambdaHandler(
  async (event: APIGatewayProxyEventV2 | Deferred): Promise<APIGatewayProxyStructuredResultV2> => {
    if (isDeferred(event)) {
      // The asynchronous half of a Slack interaction; a throw makes Lambda retry it.
      await handleDeferredSlack(event.stagecrewDeferredSlack, depsFor(await params.secrets()));
      return { statusCode: 204 };
    }
    try {
      const result = await handleApprovalHttp(event, depsFor(await params.secrets()));
      metrics.addMetric(`ApprovalApi_${String(result.statusCode ?? 200).slice(0, 1)}xx`, MetricUnit.Count, 1);
      return result;
    } catch (err) {
      logger.error('approval request failed', { error: (err as Error).name, message: (err as Error).message });
      const status = err instanceof UnavailableError ? 503 : 500;
      return {
        statusCode: status,
        headers: { ...BASELINE_HEADERS, 'content-type': 'text/plain; charset=utf-8' },
        body:
          status === 503
            ? 'Temporarily unavailable; please try again.'
            : 'Something went wrong. Open the link again to see where the approval stands.',
      };
    }
  },
  { correlationIdPath: 'requestContext.requestId', parse: parseApiEvent },
);
