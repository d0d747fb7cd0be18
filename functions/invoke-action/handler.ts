import { IdempotencyConfig } from '@aws-lambda-powertools/idempotency';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { S3ArtifactSource } from '#core/adapters/artifacts';
import { CodePipelineJobReporter } from '#core/adapters/codepipeline-jobs';
import { RetrySafeDynamoDBPersistenceLayer } from '#core/adapters/idempotency';
import { CloudFormationStacks, DynamoTeardownRegistry } from '#core/adapters/stacks';
import { requireEnv } from '#core/config';
import { lambdaHandler } from '#core/handler';
import { type JobHandlerDeps, makeJobHandler } from '#core/jobs/job-handler';
import { TASKS } from '#core/jobs/registry';
import { parseJobInput } from '#core/jobs/schema';
import { systemClock } from '#core/ports';
import { logger, metrics } from '#core/powertools';
import { cloudFormation, codePipeline, documents, dynamoDb } from '#core/wiring';

/**
 * CodePipeline Invoke action (Category Invoke, Provider Lambda). Composition root: clients and configuration are
 * built once per container; the job runner does the rest. The event is never logged (it carries live artifact
 * credentials); the correlation id is the job id.
 */
const tableName = requireEnv('STATE_TABLE_NAME');

const idempotencyConfig = new IdempotencyConfig({
  eventKeyJmesPath: 'jobId',
  throwOnNoIdempotencyKey: true,
  // A job id is never reused; a day covers Lambda's async retries (up to 6 hours) with room to spare.
  expiresAfterSeconds: 24 * 60 * 60,
});

const persistenceStore = new RetrySafeDynamoDBPersistenceLayer({
  tableName,
  awsSdkV3Client: dynamoDb(),
  // The state table's key is pk/sk: one partition per function's idempotency records, the hashed job id as sk.
  keyAttr: 'pk',
  sortKeyAttr: 'sk',
  staticPkValue: 'IDEMPOTENCY#invoke-action',
  // DynamoDB TTL on the table is the `ttl` attribute (epoch seconds), so records expire on their own.
  expiryAttr: 'ttl',
});

/** The deployed handler around any set of ports (the benchmark passes in-memory ones). */
export const makeInvokeActionHandler = (deps: JobHandlerDeps) =>
  lambdaHandler(makeJobHandler(deps), { correlationIdPath: '"CodePipeline.job".id', parse: parseJobInput });

export const handler = makeInvokeActionHandler({
  tasks: TASKS,
  clock: systemClock,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  fetch: (input, init) => fetch(input, init),
  reporter: new CodePipelineJobReporter(codePipeline()),
  stacks: new CloudFormationStacks(cloudFormation()),
  teardown: new DynamoTeardownRegistry(documents(), tableName),
  artifacts: new S3ArtifactSource(),
  log: logger,
  count: (metric) => metrics.addMetric(metric, MetricUnit.Count, 1),
  idempotency: { persistenceStore, config: idempotencyConfig },
});
