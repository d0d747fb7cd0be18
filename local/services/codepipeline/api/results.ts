/** Results reported by people and functions: PutApprovalResult, PutJobSuccessResult, PutJobFailureResult. */
import type { Operation } from '../../types.ts';
import type { Engine } from '../engine/engine.ts';
import { type JobRecord, NS, TERMINAL } from '../model.ts';
import { err, lookups, UUID } from './lookup.ts';
import { validation } from './validate.ts';

export function resultOperations(engine: Engine): Record<string, Operation> {
  const { pipelineOr404, stageIndex, jobOr404, actionIdOf } = lookups(engine);
  return {
    PutApprovalResult(
      input: {
        pipelineName?: string;
        stageName?: string;
        actionName?: string;
        result?: { status?: string; summary?: string };
        token?: string;
      },
      ctx,
    ) {
      engine.bind(ctx);
      const record = pipelineOr404(ctx, input.pipelineName, 'pipelineName');
      const stage = record.declaration.stages[stageIndex(record, input.stageName)];
      const action = stage?.actions.find((a) => a.name === input.actionName);
      if (!stage || !action)
        throw err(
          'ActionNotFoundException',
          `Action ${String(input.actionName)} not found in stage ${String(input.stageName)}`,
        );
      if (action.actionTypeId.category !== 'Approval')
        throw err('ActionNotFoundException', `Action ${action.name} is not an approval action`);
      const status = input.result?.status;
      if (status !== 'Approved' && status !== 'Rejected')
        throw validation("result.status must be 'Approved' or 'Rejected'");
      if (typeof input.result?.summary !== 'string' || input.result.summary.length > 512)
        throw validation('result.summary is required and must be at most 512 characters');
      if (typeof input.token !== 'string' || !UUID.test(input.token)) throw validation('token must be a UUID');
      const exec = engine
        .executionsOf(record.declaration.name)
        .find((e) => e.stages[stage.name]?.actions[action.name]?.token === input.token);
      const run = exec?.stages[stage.name]?.actions[action.name];
      if (!exec || !run)
        throw err('InvalidApprovalTokenException', 'The approval request already received a response or has expired');
      if (run.status !== 'InProgress') {
        if (run.status === 'Succeeded' || (run.status === 'Failed' && run.lastUpdatedBy)) {
          throw err('ApprovalAlreadyCompletedException', 'The approval action has already been approved or rejected');
        }
        throw err('InvalidApprovalTokenException', 'The approval request already received a response or has expired');
      }
      if (TERMINAL.has(exec.status))
        throw err('InvalidApprovalTokenException', 'The approval request already received a response or has expired');
      const approvedAt = engine.now();
      const by = `arn:aws:sts::${ctx.accountId}:assumed-role/local/local`;
      const fresh = engine.execution(exec.pipelineExecutionId);
      const freshRun = fresh?.stages[stage.name]?.actions[action.name];
      if (fresh && freshRun) {
        freshRun.lastUpdatedBy = by;
        engine.save(fresh);
      }
      const summary = input.result.summary;
      void engine.complete(
        exec.pipelineExecutionId,
        stage.name,
        action.name,
        run.actionExecutionId,
        status === 'Approved'
          ? { status: 'Succeeded', summary: summary || 'Approved' }
          : { status: 'Failed', code: 'JobFailed', message: summary || 'Rejected' },
      );
      return { approvedAt: approvedAt / 1000 };
    },

    PutJobSuccessResult(
      input: {
        jobId?: string;
        currentRevision?: unknown;
        continuationToken?: string;
        executionDetails?: { summary?: string; externalExecutionId?: string; percentComplete?: number };
        outputVariables?: Record<string, string>;
      },
      ctx,
    ) {
      engine.bind(ctx);
      const job = jobOr404(ctx, input.jobId);
      if (input.continuationToken !== undefined && input.outputVariables !== undefined) {
        throw validation('outputVariables can only be set when there is no continuation token');
      }
      if (input.outputVariables) {
        for (const [k, v] of Object.entries(input.outputVariables)) {
          if (!/^[A-Za-z0-9@\-_]+$/.test(k) || typeof v !== 'string')
            throw err('OutputVariablesSizeExceededException', `Output variable ${k} is not valid`);
        }
        if (JSON.stringify(input.outputVariables).length > 122_880)
          throw err('OutputVariablesSizeExceededException', 'Output variables exceed 122880 characters');
      }
      ctx.store.put(NS.jobs, job.jobId, { ...job, status: 'Succeeded' });
      if (input.continuationToken !== undefined) {
        engine.continueJob(job, input.continuationToken, input.executionDetails);
        return {};
      }
      void engine.complete(job.pipelineExecutionId, job.stageName, job.actionName, actionIdOf(job), {
        status: 'Succeeded',
        ...(input.executionDetails?.summary ? { summary: input.executionDetails.summary } : {}),
        ...(input.executionDetails?.externalExecutionId
          ? { externalExecutionId: input.executionDetails.externalExecutionId }
          : {}),
        ...(input.outputVariables ? { outputVariables: input.outputVariables } : {}),
      });
      return {};
    },

    PutJobFailureResult(
      input: { jobId?: string; failureDetails?: { type?: string; message?: string; externalExecutionId?: string } },
      ctx,
    ) {
      engine.bind(ctx);
      const job = jobOr404(ctx, input.jobId);
      const types = [
        'JobFailed',
        'ConfigurationError',
        'PermissionError',
        'RevisionOutOfSync',
        'RevisionUnavailable',
        'SystemUnavailable',
      ];
      const d = input.failureDetails;
      if (
        !d ||
        !types.includes(d.type ?? '') ||
        typeof d.message !== 'string' ||
        d.message.length < 1 ||
        d.message.length > 5000
      ) {
        throw validation(`failureDetails needs a type (${types.join(' | ')}) and a message of 1-5000 characters`);
      }
      ctx.store.put(NS.jobs, job.jobId, { ...job, status: 'Failed' });
      void engine.complete(job.pipelineExecutionId, job.stageName, job.actionName, actionIdOf(job), {
        status: 'Failed',
        code: d.type as string,
        message: d.message,
        ...(d.externalExecutionId ? { externalExecutionId: d.externalExecutionId } : {}),
      });
      return {};
    },

    GetJobDetails(input: { jobId?: string }, ctx) {
      engine.bind(ctx);
      const job = ctx.store.get<JobRecord>(NS.jobs, input.jobId ?? '');
      if (!job) throw err('JobNotFoundException', `Job ${String(input.jobId)} not found`);
      return { jobDetails: { id: job.jobId, data: job.data, accountId: ctx.accountId } };
    },
  };
}
