/**
 * Shared pieces of the local-cloud fault tests: `/_local/faults` and `/_local/meter`, a pipeline whose only
 * non-source stage is a Manual approval (the emailed link and the page's form: ../helpers/approvals.ts), the table.
 */
import {
  type CodePipelineClient,
  CreatePipelineCommand,
  GetPipelineStateCommand,
  ListActionExecutionsCommand,
} from '@aws-sdk/client-codepipeline';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { expect } from 'vitest';
import type { FaultRule, FaultRuleInput } from '#local/runtime/faults';
import type { MeterSnapshot } from '#local/runtime/meter';
import { type TestCloud, waitFor } from '../helpers/local-cloud.ts';
import { codeCommitSourceStage, invokeAction, manualApprovalStage, pipelineDefinition } from '../helpers/pipelines.ts';
import { type SourcedCloud, startSourcedCloud } from '../helpers/sourced-cloud.ts';
import { tableItems } from '../helpers/state-table.ts';

export type FaultCloud = SourcedCloud;

/** A local cloud whose source `app` is a one-file git repository and whose approvals email ana and bob. */
export const startFaultCloud = (parameters: Record<string, unknown> = {}): Promise<FaultCloud> =>
  startSourcedCloud({
    repository: 'app',
    files: { 'README.md': 'fault tests\n' },
    parameters: {
      EmailSender: 'stagecrew@example.com',
      EmailRecipients: 'ana@example.com,bob@example.com',
      ...parameters,
    },
  });

export const inject = async (t: TestCloud, ...rules: FaultRuleInput[]): Promise<FaultRule[]> => {
  const res = await fetch(`${t.url}/_local/faults`, { method: 'POST', body: JSON.stringify(rules) });
  expect(res.status).toBe(201);
  return (await res.json()) as FaultRule[];
};
export const faults = async (t: TestCloud): Promise<FaultRule[]> =>
  (await (await fetch(`${t.url}/_local/faults`)).json()) as FaultRule[];
export const clearFaults = (t: TestCloud) => fetch(`${t.url}/_local/faults`, { method: 'DELETE' });
export const meter = async (t: TestCloud): Promise<MeterSnapshot> =>
  (await (await fetch(`${t.url}/_local/meter`)).json()) as MeterSnapshot;
export const resetMeter = (t: TestCloud) => fetch(`${t.url}/_local/meter`, { method: 'DELETE' });

/**
 * Waits until the local cloud is quiet: no AWS call counted for `quietMs` (async invocations, EventBridge
 * targets and the pipeline engine finish), so a fault injected next meets the call the test means.
 */
export const settle = async (t: TestCloud, quietMs = 400, timeoutMs = 15_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  let last = JSON.stringify((await meter(t)).calls);
  let since = Date.now();
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    const now = JSON.stringify((await meter(t)).calls);
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
  }
  throw new Error(`the local cloud did not settle within ${timeoutMs} ms`);
};

/** Source → Invoke (Stagecrew's InvokeActionFunction with `userParameters`). Runs once on create. */
export const createInvokePipeline = async (
  t: TestCloud,
  cp: CodePipelineClient,
  name: string,
  userParameters: Record<string, unknown>,
): Promise<void> => {
  const fn = t.cloud.model.outputs.InvokeActionFunctionName as string;
  await cp.send(
    new CreatePipelineCommand(
      pipelineDefinition(name, [
        codeCommitSourceStage('app'),
        { name: 'Check', actions: [invokeAction(fn, 'Check', userParameters)] },
      ]) as never,
    ),
  );
};

/** The executions of one action (every result CodePipeline took for it) once its stage has ended. */
export const actionRuns = async (cp: CodePipelineClient, pipeline: string, stage: string) => {
  const runs = await cp.send(new ListActionExecutionsCommand({ pipelineName: pipeline }));
  return (runs.actionExecutionDetails ?? []).filter((d) => d.stageName === stage);
};

export const stageStatus = async (cp: CodePipelineClient, pipeline: string, stage: string) =>
  (await cp.send(new GetPipelineStateCommand({ name: pipeline }))).stageStates?.find((s) => s.stageName === stage)
    ?.latestExecution?.status;

/** Source → Approve (Manual, notifying Stagecrew's approval topic). Runs once on create. */
export const createApprovalPipeline = async (t: TestCloud, cp: CodePipelineClient, name: string): Promise<void> => {
  await cp.send(
    new CreatePipelineCommand(
      pipelineDefinition(name, [
        codeCommitSourceStage('app'),
        manualApprovalStage('Approve', {
          NotificationArn: t.cloud.model.outputs.ApprovalTopicArn as string,
          CustomData: 'fault test',
        }),
      ]) as never,
    ),
  );
};

export { approvalId, approvalLink, decideOnPage, outbox } from '../helpers/approvals.ts';

/** Every item under one partition key, unmarshalled (a consistent read). */
export const items = (
  t: TestCloud,
  db: DynamoDBDocumentClient,
  pk: string,
  skPrefix = '',
): Promise<Record<string, unknown>[]> =>
  tableItems(db, t.cloud.model.outputs.StateTableName as string, pk, skPrefix, { consistentRead: true });

/** The Approve action's state in the pipeline, and every execution of it (one per decision CodePipeline took). */
export const approvalAction = async (cp: CodePipelineClient, pipeline: string) => {
  const state = await cp.send(new GetPipelineStateCommand({ name: pipeline }));
  const stage = state.stageStates?.find((s) => s.stageName === 'Approve');
  const runs = await cp.send(new ListActionExecutionsCommand({ pipelineName: pipeline }));
  return {
    stageStatus: stage?.latestExecution?.status,
    action: stage?.actionStates?.[0]?.latestExecution,
    executions: (runs.actionExecutionDetails ?? []).filter((d) => d.stageName === 'Approve'),
  };
};

/** Waits until the Approve stage is waiting for a decision. */
export const waitForApproval = (cp: CodePipelineClient, pipeline: string) =>
  waitFor(async () => ((await approvalAction(cp, pipeline)).stageStatus === 'InProgress' ? true : undefined), 30_000);
