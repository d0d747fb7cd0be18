import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { CloudFormationTeardown } from '#core/adapters/cloudformation';
import { CodePipelineGateway } from '#core/adapters/codepipeline';
import { EventBridgePublisher } from '#core/adapters/eventbridge';
import { DynamoTeardownStore } from '#core/adapters/teardown-store';
import { homeLocation, requireEnv } from '#core/config';
import { ConfigError } from '#core/errors';
import { lambdaHandler } from '#core/handler';
import type { Location } from '#core/organization/location';
import { systemClock } from '#core/ports';
import { logger, metrics } from '#core/powertools';
import { deployedStacks } from '#core/teardown/discover';
import { type DispatchDeps, dispatch, parseTaskEvent, type TaskEvent } from '#core/teardown/dispatch';
import {
  bucketCleaner,
  bucketCleanerIn,
  cloudFormation,
  cloudFormationIn,
  codePipeline,
  codePipelineIn,
  documents,
  eventBridge,
  imageCleaner,
  imageCleanerIn,
  sesMailer,
  settingsStore,
  slackApi,
} from '#core/wiring';

// Built once per container: clients, adapters and the settings cache.
const parameters = settingsStore();
const store = new DynamoTeardownStore(documents(), requireEnv('STATE_TABLE_NAME'));
const pipelines = new CodePipelineGateway(codePipeline());
const slack = slackApi();

// In a member account (docs/ORGANIZATION.md): the member role's session, named after what it does.
const TEARDOWN = { purpose: 'teardown' };
const organization = async () => (await parameters.settings()).organization;
const pipelinesIn = async (where: Location | undefined) =>
  where ? new CodePipelineGateway(await codePipelineIn(where, await organization(), TEARDOWN)) : pipelines;

const deps: DispatchDeps = {
  stacks: new CloudFormationTeardown(cloudFormation()),
  store,
  executions: { status: async (p, e, where) => (await (await pipelinesIn(where)).getPipelineExecution(p, e)).status },
  actions: {
    stacksOf: async (p, e, where) => deployedStacks(await (await pipelinesIn(where)).listActionExecutions(p, e)),
  },
  home: homeLocation(),
  elsewhere: async (where) => {
    const org = await organization();
    return {
      stacks: new CloudFormationTeardown(await cloudFormationIn(where, org, TEARDOWN)),
      // S3 and ECR load only when a failed deletion needs them.
      buckets: { emptyBucket: async (b) => (await bucketCleanerIn(where, org, TEARDOWN)).emptyBucket(b) },
      images: { deleteImages: async (r) => (await imageCleanerIn(where, org, TEARDOWN)).deleteImages(r) },
    };
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
        return sesMailer(sender).send(m);
      },
    },
    events: new EventBridgePublisher(eventBridge()),
    settings: () => parameters.settings(),
    now: () => systemClock.now(),
    warn: (message, extra) => logger.warn(message, extra ?? {}),
  },
};

/** One entry point for every Task state of statemachines/teardown.asl.json; the event's `action` names the step. */
export const handler = lambdaHandler(
  async (event: TaskEvent) => {
    logger.appendKeys({ teardownAction: event.action });
    const result = await dispatch(event, deps);
    if (event.action === 'finish') publishOutcomes(result);
    return result;
  },
  { parse: parseTaskEvent },
);

/** Stacks per teardown outcome, for the weekly dashboard widget (dimension `outcome`: a closed set of values). */
const publishOutcomes = (result: unknown): void => {
  const r = result as { status?: string; dryRun?: boolean; counts?: Record<string, number> };
  if (r.status !== 'FINISHED' || r.dryRun) return;
  for (const [outcome, n] of Object.entries(r.counts ?? {})) {
    if (!n) continue;
    const m = metrics.singleMetric();
    m.addDimensions({ outcome });
    m.addMetric('TeardownStacks', MetricUnit.Count, n);
  }
};
