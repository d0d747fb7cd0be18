/**
 * Rebuilds a pipeline's delivery summaries from its execution timeline (docs/METRICS.md, "Rebuilding"): for the
 * executions recorded before the delivery figures were deployed, or after a summary was lost. Idempotent: a
 * summary that is already complete is left alone, one an event is writing concurrently is merged.
 *
 *   node scripts/rebuild-delivery.ts --table <StateTableName output> --pipeline my-pipeline [--days 90]
 *     [--production-stage Deploy]   # the settings' production stage of this pipeline, if it has one
 *
 * Runs with your AWS credentials (the default chain: profile, environment, SSO) in AWS_REGION; it needs
 * dynamodb:Query and dynamodb:GetItem/PutItem on the stack's table and its gsi1 index, and
 * codepipeline:GetPipelineExecution (a deployment's commit time when its trigger named none). With AWS_ENDPOINT_URL set
 * it works against the local cloud.
 */
import { parseArgs } from 'node:util';
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CodePipelineGateway } from '../functions/core/adapters/codepipeline.ts';
import { DynamoDeliveryStore } from '../functions/core/adapters/delivery-store.ts';
import { createDocumentClient } from '../functions/core/adapters/dynamodb.ts';
import { DynamoTimelineStore } from '../functions/core/adapters/timeline-store.ts';
import { clientSettings } from '../functions/core/clients.ts';
import { rebuildSummaries } from '../functions/core/delivery/rebuild.ts';
import { sourceTimeFrom } from '../functions/core/delivery/source-time.ts';

const { values } = parseArgs({
  options: {
    table: { type: 'string' },
    pipeline: { type: 'string' },
    days: { type: 'string', default: '90' },
    /** The settings' production stage for this pipeline (delivery.production); none: the execution's success. */
    'production-stage': { type: 'string' },
  },
});
const days = Number(values.days);
if (!values.table || !values.pipeline || !Number.isInteger(days) || days < 1 || days > 3660) {
  console.error('usage: node scripts/rebuild-delivery.ts --table <state table> --pipeline <name> [--days 1-3660]');
  process.exit(2);
}
const doc = createDocumentClient(new DynamoDBClient(clientSettings()));
const now = Date.now();
const range = { from: new Date(now - days * 86_400_000).toISOString(), to: new Date(now + 60_000).toISOString() };
const out = await rebuildSummaries(
  new DynamoTimelineStore(doc, values.table),
  new DynamoDeliveryStore(doc, values.table),
  values.pipeline,
  range,
  {
    // Deployments whose trigger named no commit: their source revision's time, one GetPipelineExecution each.
    sourceTime: {
      read: sourceTimeFrom(new CodePipelineGateway(new CodePipelineClient(clientSettings()))),
      policy: { productionStage: values['production-stage'] },
    },
    progress: (done, total) => {
      if (done === total || done % 50 === 0) console.error(`${done}/${total} executions`);
    },
  },
);
console.log(JSON.stringify({ pipeline: values.pipeline, ...range, ...out }));
