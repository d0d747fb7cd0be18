import type { PipelineGateway } from '../ports.ts';

/** When an execution's source revision was created (ISO 8601), or undefined when CodePipeline does not say. */
export type SourceTime = (pipeline: string, executionId: string) => Promise<string | undefined>;

/** From GetPipelineExecution: the earliest `artifactRevisions[].created` of the execution (its commit's time). */
export const sourceTimeFrom =
  (pipelines: Pick<PipelineGateway, 'getPipelineExecution'>): SourceTime =>
  async (pipeline, executionId) => {
    const execution = await pipelines.getPipelineExecution(pipeline, executionId);
    return execution.sourceRevisions
      .map((r) => r.created)
      .filter((c): c is string => c !== undefined)
      .sort()[0];
  };
