/** Lookups shared by the API operations, each failing with AWS's error code for a missing thing. */
import { AwsError, type LocalContext } from '../../types.ts';
import type { Engine } from '../engine/engine.ts';
import { type ExecutionRecord, type JobRecord, NS, type PipelineRecord } from '../model.ts';
import { requireName, validation } from './validate.ts';

export const err = (code: string, message: string) => new AwsError(code, message);
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function lookups(engine: Engine) {
  const pipelineOr404 = (ctx: LocalContext, name: unknown, field = 'name'): PipelineRecord => {
    const n = requireName(name, field);
    const record = ctx.store.get<PipelineRecord>(NS.pipelines, n);
    if (!record) throw err('PipelineNotFoundException', `Pipeline ${n} not found`);
    return record;
  };
  const executionOr404 = (ctx: LocalContext, pipelineName: string, id: unknown): ExecutionRecord => {
    const exec = typeof id === 'string' ? ctx.store.get<ExecutionRecord>(NS.executions, id) : undefined;
    if (!exec || exec.pipelineName !== pipelineName) {
      throw err(
        'PipelineExecutionNotFoundException',
        `Pipeline execution ${String(id)} not found in pipeline ${pipelineName}`,
      );
    }
    return exec;
  };
  const stageIndex = (record: PipelineRecord, stageName: unknown): number => {
    const i = record.declaration.stages.findIndex((s) => s.name === stageName);
    if (i < 0)
      throw err(
        'StageNotFoundException',
        `Stage ${String(stageName)} not found in pipeline ${record.declaration.name}`,
      );
    return i;
  };

  const jobOr404 = function jobOr404(ctx: LocalContext, jobId: unknown): JobRecord {
    if (typeof jobId !== 'string' || !UUID.test(jobId)) throw validation('jobId must be a job id');
    const job = ctx.store.get<JobRecord>(NS.jobs, jobId);
    if (!job) throw err('JobNotFoundException', `Job ${jobId} not found`);
    if (job.status !== 'InProgress')
      throw err('InvalidJobStateException', `Job ${jobId} is ${job.status}; it no longer accepts results`);
    return job;
  };

  const actionIdOf = function actionIdOf(job: JobRecord): string {
    return (
      engine.execution(job.pipelineExecutionId)?.stages[job.stageName]?.actions[job.actionName]?.actionExecutionId ?? ''
    );
  };

  return { pipelineOr404, executionOr404, stageIndex, jobOr404, actionIdOf };
}
