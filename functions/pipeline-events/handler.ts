import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { CodePipelineGateway } from '#core/adapters/codepipeline';
import { DynamoDeliveryStore } from '#core/adapters/delivery-store';
import { StepFunctionsTeardown } from '#core/adapters/stepfunctions';
import { DynamoEventLedger, DynamoRateLimiter, DynamoTimelineStore } from '#core/adapters/timeline-store';
import { homeLocation, requireEnv } from '#core/config';
import { lambdaHandler } from '#core/handler';
import { systemClock } from '#core/ports';
import { logger, metrics } from '#core/powertools';
import { type CodePipelineEvent, parseCodePipelineEvent } from '#core/schemas/codepipeline-events';
import { planTeardown } from '#core/teardown/trigger';
import { codePipeline, documents, sesMailer, settingsStore, slackApi, stepFunctions } from '#core/wiring';
import { handlePipelineEvent, type PipelineEventsDeps } from './handle.ts';
import { publishFigures } from './metrics.ts';

// Composition root: clients and configuration built once per container; required env fails at init.
const tableName = requireEnv('STATE_TABLE_NAME');
const doc = documents();

const deps: PipelineEventsDeps = {
  timeline: new DynamoTimelineStore(doc, tableName),
  delivery: new DynamoDeliveryStore(doc, tableName),
  ledger: new DynamoEventLedger(doc, tableName),
  rateLimiter: new DynamoRateLimiter(doc, tableName),
  pipelines: new CodePipelineGateway(codePipeline()),
  slack: slackApi(),
  mailer: sesMailer,
  settings: settingsStore(),
  teardown: {
    plan: planTeardown,
    starter: new StepFunctionsTeardown(stepFunctions(), requireEnv('TEARDOWN_STATE_MACHINE_ARN')),
  },
  clock: systemClock,
  logger,
  home: homeLocation(),
};

export const handler = lambdaHandler(
  async (event: CodePipelineEvent) => {
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
      publishFigures(metrics, outcome.pipeline, outcome.figures);
    }
    return outcome;
  },
  { correlationIdPath: 'id', parse: (raw) => parseCodePipelineEvent(raw) },
);
