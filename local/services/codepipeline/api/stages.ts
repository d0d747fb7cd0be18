/** Stage-level control: RetryStageExecution and the inbound/outbound transitions. */
import type { LocalContext, Operation } from '../../types.ts';
import type { Engine } from '../engine/engine.ts';
import { pipelineEvent, stageEvent } from '../engine/events.ts';
import { type ExecutionRecord, NS } from '../model.ts';
import { err, lookups } from './lookup.ts';
import { validation } from './validate.ts';

export function stageOperations(engine: Engine): Record<string, Operation> {
  const { pipelineOr404, executionOr404, stageIndex } = lookups(engine);
  const transitionTarget = function transitionTarget(
    ctx: LocalContext,
    input: { pipelineName?: string; stageName?: string; transitionType?: string },
  ) {
    const record = pipelineOr404(ctx, input.pipelineName, 'pipelineName');
    const index = stageIndex(record, input.stageName);
    if (input.transitionType !== 'Inbound' && input.transitionType !== 'Outbound')
      throw validation("transitionType must be 'Inbound' or 'Outbound'");
    // The outbound transition of a stage is the inbound transition of the next one.
    const targetIndex = input.transitionType === 'Inbound' ? index : index + 1;
    const target = record.declaration.stages[targetIndex]?.name;
    if (!target || targetIndex === 0)
      throw validation(`Stage ${String(input.stageName)} has no ${input.transitionType.toLowerCase()} transition`);
    return { record, target };
  };

  return {
    RetryStageExecution(
      input: { pipelineName?: string; stageName?: string; pipelineExecutionId?: string; retryMode?: string },
      ctx,
    ) {
      engine.bind(ctx);
      const record = pipelineOr404(ctx, input.pipelineName, 'pipelineName');
      const index = stageIndex(record, input.stageName);
      if (input.retryMode !== 'FAILED_ACTIONS' && input.retryMode !== 'ALL_ACTIONS')
        throw validation("retryMode must be 'FAILED_ACTIONS' or 'ALL_ACTIONS'");
      const exec = executionOr404(ctx, record.declaration.name, input.pipelineExecutionId);
      const stageName = input.stageName as string;
      const stageRun = exec.stages[stageName];
      if (
        exec.stageIndex !== index ||
        !stageRun ||
        !['Failed', 'Stopped'].includes(stageRun.status) ||
        !['Failed', 'Stopped'].includes(exec.status)
      ) {
        throw err(
          'StageNotRetryableException',
          `Stage ${stageName} of execution ${exec.pipelineExecutionId} is not in a failed or stopped state`,
        );
      }
      const latest = engine
        .executionsOf(record.declaration.name)
        .filter((e) => e.stages[stageName])
        .pop();
      if (latest?.pipelineExecutionId !== exec.pipelineExecutionId) {
        throw err(
          'NotLatestPipelineExecutionException',
          `Execution ${exec.pipelineExecutionId} is not the latest execution of stage ${stageName}`,
        );
      }
      if (exec.pipelineVersion !== record.declaration.version) {
        throw err(
          'StageNotRetryableException',
          'The pipeline was updated since this execution started; start a new execution instead',
        );
      }
      for (const [name, run] of Object.entries(stageRun.actions)) {
        if (input.retryMode === 'ALL_ACTIONS' || run.status !== 'Succeeded') {
          // The replaced attempt stays visible in ListActionExecutions beside the new one, as on AWS.
          stageRun.history = [...(stageRun.history ?? []), { ...run, actionName: name }];
          delete stageRun.actions[name];
        }
      }
      stageRun.status = 'InProgress';
      stageRun.attempt += 1;
      exec.status = 'InProgress';
      exec.statusSummary = undefined;
      exec.stop = undefined;
      engine.save(exec);
      engine.emit([resumed(engine, exec, 'pipeline'), resumed(engine, exec, stageName)]);
      engine.advance(exec.pipelineExecutionId);
      return { pipelineExecutionId: exec.pipelineExecutionId };
    },

    DisableStageTransition(
      input: { pipelineName?: string; stageName?: string; transitionType?: string; reason?: string },
      ctx,
    ) {
      engine.bind(ctx);
      const { record, target } = transitionTarget(ctx, input);
      if (typeof input.reason !== 'string' || input.reason.length < 1 || input.reason.length > 300)
        throw validation('reason is required (1-300 characters)');
      record.transitions[target] = {
        enabled: false,
        disabledReason: input.reason,
        lastChangedAt: engine.now(),
        lastChangedBy: `arn:aws:sts::${ctx.accountId}:assumed-role/local/local`,
      };
      ctx.store.put(NS.pipelines, record.declaration.name, record);
      return {};
    },

    EnableStageTransition(input: { pipelineName?: string; stageName?: string; transitionType?: string }, ctx) {
      engine.bind(ctx);
      const { record, target } = transitionTarget(ctx, input);
      record.transitions[target] = {
        enabled: true,
        lastChangedAt: engine.now(),
        lastChangedBy: `arn:aws:sts::${ctx.accountId}:assumed-role/local/local`,
      };
      ctx.store.put(NS.pipelines, record.declaration.name, record);
      engine.wake(record.declaration.name);
      return {};
    },
  };
}

function resumed(engine: Engine, exec: ExecutionRecord, what: string) {
  return what === 'pipeline'
    ? pipelineEvent(exec, 'RESUMED', engine.now())
    : stageEvent(exec, what, 'RESUMED', engine.now());
}
