/**
 * Teardown under injected faults on the local cloud: a real pipeline execution fails, pipeline-events starts the
 * teardown state machine, and the TeardownTaskFunction (worker thread, real SDK clients) deletes the registered
 * stack. Step Functions' own `aws-sdk:` tasks run in-process and are not faulted, so the faults hit the task
 * Lambda's CloudFormation calls. Whatever fails, the stack is deleted once and one outcome is recorded.
 */
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { CodePipelineClient, CreatePipelineCommand, StartPipelineExecutionCommand } from '@aws-sdk/client-codepipeline';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListExecutionsCommand, ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FaultRuleInput } from '#local/runtime/faults';
import { waitFor } from '../helpers/local-cloud.ts';
import {
  codeCommitSourceStage,
  manualApprovalStage,
  pipelineDefinition,
  rejectApproval,
  waitForWorkflowEnd,
  waitingApproval,
} from '../helpers/pipelines.ts';
import { ownershipTags, registerStackForTeardown, waitForStackStatus } from '../helpers/teardown.ts';
import { clearFaults, type FaultCloud, faults, inject, items, meter, settle, startFaultCloud } from './harness.ts';

const PIPELINE = 'faults-teardown';
const TEMPLATE = 'Resources:\n  Marker:\n    Type: AWS::SSM::Parameter\n    Properties: { Type: String, Value: x }\n';

let t: FaultCloud;
let cp: CodePipelineClient;
let cfn: CloudFormationClient;
let sfn: SFNClient;
let db: DynamoDBDocumentClient;

beforeAll(async () => {
  vi.stubEnv('STAGECREW_CFN_DELAY_MS', '5');
  vi.stubEnv('STAGECREW_SFN_WAIT_SCALE', '0');
  t = await startFaultCloud({ TeardownGraceSeconds: 0 });
  cp = new CodePipelineClient(t.clientConfig);
  cfn = new CloudFormationClient(t.clientConfig);
  sfn = new SFNClient(t.clientConfig);
  db = DynamoDBDocumentClient.from(new DynamoDBClient(t.clientConfig));
  await cp.send(
    new CreatePipelineCommand(
      pipelineDefinition(PIPELINE, [codeCommitSourceStage('app'), manualApprovalStage('Hold')]) as never,
    ),
  );
});
afterAll(async () => {
  await t?.cleanup();
  vi.unstubAllEnvs();
});
afterEach(async () => {
  await clearFaults(t);
});

const holding = async (seen: Set<string>) =>
  waitFor(async () => {
    const hold = await waitingApproval(cp, PIPELINE, 'Hold');
    return hold && !seen.has(hold.executionId) ? hold : undefined;
  }, 20_000);

const used = new Set<string>();
let round = 0;

/**
 * One failed execution with one owned, registered stack; `rules` are injected just before the execution fails.
 * Returns the teardown run, the stack and the DeleteStack calls counted during the teardown.
 */
const teardownWith = async (rules: FaultRuleInput[]) => {
  round += 1;
  if (round > 1) await cp.send(new StartPipelineExecutionCommand({ name: PIPELINE }));
  const { executionId, token } = await holding(used);
  used.add(executionId);
  const stackName = `test-${round}-${executionId}`;
  const created = await cfn.send(
    new CreateStackCommand({
      StackName: stackName,
      TemplateBody: TEMPLATE,
      Tags: ownershipTags(PIPELINE, executionId),
    }),
  );
  const stackId = created.StackId as string;
  await waitForStackStatus(cfn, stackId, 'CREATE_COMPLETE', 15_000);
  await registerStackForTeardown(db, t.cloud.model.outputs.StateTableName as string, {
    pipeline: PIPELINE,
    executionId,
    stackId,
    stackName,
  });
  await settle(t);
  const before = (await meter(t)).calls['cloudformation:DeleteStack'] ?? 0;
  await inject(t, ...rules);
  await rejectApproval(cp, PIPELINE, 'Hold', token, 'fail the run');
  const run = await waitFor(async () => {
    for (const m of (await sfn.send(new ListStateMachinesCommand({}))).stateMachines ?? []) {
      const runs = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: m.stateMachineArn }))).executions;
      const r = runs?.filter((e) => e.name === `${PIPELINE}--${executionId}`);
      if (r && r.length > 0) return { arn: r[0]?.executionArn as string, count: r.length };
    }
    return undefined;
  }, 20_000);
  const finished = await waitForWorkflowEnd(sfn, run.arn, 40_000);
  const deletes = ((await meter(t)).calls['cloudformation:DeleteStack'] ?? 0) - before;
  const stack = (await cfn.send(new DescribeStacksCommand({ StackName: stackId }))).Stacks?.[0];
  const events = (await cfn.send(new DescribeStackEventsCommand({ StackName: stackId }))).StackEvents ?? [];
  const stackDeletes = events.filter(
    (e) => e.ResourceType === 'AWS::CloudFormation::Stack' && e.ResourceStatus === 'DELETE_IN_PROGRESS',
  ).length;
  const outcomes = await items(t, db, `TEARDOWN#${PIPELINE}#${executionId}`, 'OUTCOME#');
  return { finished, runs: run.count, deletes, stack, stackDeletes, outcomes };
};

describe('teardown under injected faults', { timeout: 60_000 }, () => {
  it('DeleteStack throttled twice: the task Lambda’s SDK retries; deleted once, one outcome', async () => {
    const r = await teardownWith([
      { service: 'cloudformation', operation: 'DeleteStack', fault: 'throttle', times: 2 },
    ]);
    expect((await faults(t))[0]?.fired).toBe(2);
    expect({ status: r.finished.status, error: r.finished.error }).toEqual({ status: 'SUCCEEDED', error: undefined });
    expect(r.deletes).toBe(3);
    expect(r.stack?.StackStatus).toBe('DELETE_COMPLETE');
    expect(r.stackDeletes).toBe(1);
    expect(r.outcomes.map((o) => o.outcome)).toEqual(['DELETED']);
  });

  it('DeleteStack dropped after CloudFormation took it: the retry with the same token is harmless', async () => {
    const r = await teardownWith([{ service: 'cloudformation', operation: 'DeleteStack', fault: 'drop-after' }]);
    expect((await faults(t))[0]?.fired).toBe(1);
    expect(r.finished.status).toBe('SUCCEEDED');
    expect(r.deletes).toBe(2);
    expect(r.stack?.StackStatus).toBe('DELETE_COMPLETE');
    expect(r.stackDeletes).toBe(1);
    expect(r.outcomes.map((o) => o.outcome)).toEqual(['DELETED']);
  });

  it('DeleteStack throttled past the SDK retries: UnavailableError, the state machine retries the step; deleted once', async () => {
    const r = await teardownWith([
      { service: 'cloudformation', operation: 'DeleteStack', fault: 'throttle', times: 5 },
    ]);
    expect((await faults(t))[0]?.fired).toBe(5);
    expect(r.finished.status).toBe('SUCCEEDED');
    expect(r.deletes).toBe(6);
    expect(r.stack?.StackStatus).toBe('DELETE_COMPLETE');
    expect(r.stackDeletes).toBe(1);
    expect(r.outcomes.map((o) => o.outcome)).toEqual(['DELETED']);
  });
});
