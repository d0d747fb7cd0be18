import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CodePipelineGateway } from '../../functions/core/adapters/codepipeline.ts';
import { DynamoDeliveryStore } from '../../functions/core/adapters/delivery-store.ts';
import { createDocumentClient } from '../../functions/core/adapters/dynamodb.ts';
import { DynamoReadModels } from '../../functions/core/adapters/read-models.ts';
import { DynamoTimelineStore } from '../../functions/core/adapters/timeline-store.ts';
import type { DeliveryFigures, TeardownWeek } from '../../functions/core/delivery/figures.ts';
import { lastDays, MAX_WINDOW_DAYS, pipelineFigures } from '../../functions/core/delivery/query.ts';
import { rebuildSummaries } from '../../functions/core/delivery/rebuild.ts';
import { sourceTimeFrom } from '../../functions/core/delivery/source-time.ts';
import { deliveryPolicy, parseSettings } from '../../functions/core/settings.ts';
import type { LocalModel } from '../runtime/wiring.ts';
import type { LocalContext } from '../services/types.ts';

export type PipelineDelivery = DeliveryFigures & { teardownWeeks: TeardownWeek[] };

/**
 * The delivery figures on the local dashboard: the same read adapter and the same computation as the read API
 * (functions/core/delivery), over a real SDK client pointed at this local cloud, so the page shows what the API
 * answers. The settings are read from the template's settings parameter as the functions read them.
 */
export const localDelivery = (ctx: LocalContext, model: LocalModel) => {
  const table = model.tables.find((t) => t.logicalId === 'StateTable') ?? model.tables[0];
  const parameter = model.parameters.find((p) => p.logicalId === 'SettingsParameter');
  let doc: DynamoDBDocumentClient | undefined;
  const documents = () => {
    doc ??= createDocumentClient(
      new DynamoDBClient({
        endpoint: ctx.baseUrl,
        region: ctx.region,
        credentials: { accessKeyId: 'local-dashboard', secretAccessKey: 'local' },
        maxAttempts: 2,
      }),
    );
    return doc;
  };
  const tableName = () => {
    if (!table) throw new Error('the template has no state table');
    return table.name;
  };
  let reads: DynamoReadModels | undefined;
  const readModels = () => {
    reads ??= new DynamoReadModels(documents(), tableName());
    return reads;
  };
  let pipelines: CodePipelineGateway | undefined;
  const pipelineGateway = () => {
    pipelines ??= new CodePipelineGateway(
      new CodePipelineClient({
        endpoint: ctx.baseUrl,
        region: ctx.region,
        credentials: { accessKeyId: 'local-dashboard', secretAccessKey: 'local' },
        maxAttempts: 2,
      }),
    );
    return pipelines;
  };
  const settings = async () => {
    if (!parameter) return parseSettings({});
    const out = (await ctx.call('ssm', 'GetParameter', { Name: parameter.name })) as { Parameter?: { Value?: string } };
    return parseSettings(JSON.parse(out.Parameter?.Value ?? '{}'));
  };
  return {
    /** Figures of the last `days` days (1–92) for one pipeline. */
    figures: async (pipeline: string, days = 30, now = new Date()): Promise<PipelineDelivery> => {
      if (!Number.isInteger(days) || days < 1 || days > MAX_WINDOW_DAYS) {
        throw new RangeError(`days must be a whole number from 1 to ${MAX_WINDOW_DAYS}`);
      }
      const r = readModels();
      return pipelineFigures({ delivery: r, teardown: r }, (await settings()).delivery, pipeline, lastDays(now, days));
    },
    /** Rebuilds the summaries of the pipeline's executions of the last `days` days from the timeline. */
    rebuild: async (pipeline: string, days = 30, now = new Date()) => {
      if (!Number.isInteger(days) || days < 1 || days > 3660) throw new RangeError('days must be from 1 to 3660');
      const range = { from: new Date(now.getTime() - days * 86_400_000).toISOString(), to: now.toISOString() };
      const out = await rebuildSummaries(
        new DynamoTimelineStore(documents(), tableName()),
        new DynamoDeliveryStore(documents(), tableName()),
        pipeline,
        range,
        {
          sourceTime: {
            read: sourceTimeFrom(pipelineGateway()),
            policy: deliveryPolicy((await settings()).delivery, pipeline),
          },
        },
      );
      return { pipeline, ...range, ...out };
    },
  };
};
