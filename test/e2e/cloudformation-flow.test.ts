/**
 * The seeds' CloudFormation flow on a started local cloud with Stagecrew's own functions, driven with real SDK
 * clients: deploy a test stack → register it and smoke-test it with Stagecrew's Invoke `http-check` (and `gate`)
 * → Manual approval given by following the emailed link from the outbox → delete the test stack → deploy prod.
 * A second run whose test stage fails hands its registered test stack to Stagecrew's teardown workflow, which
 * deletes it (DELETE_COMPLETE by StackId, outcome DELETED recorded) and leaves the untagged prod stack alone.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  CodePipelineClient,
  CreatePipelineCommand,
  GetPipelineStateCommand,
  StartPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type DecisionForm, decisionFormOf, firstApprovalLink, postDecision } from '../helpers/approvals.ts';
import { waitFor } from '../helpers/local-cloud.ts';
import {
  cloudFormationAction,
  codeCommitSourceStage,
  FREEZE_VARIABLES,
  freezeGateAction,
  invokeAction,
  manualApprovalStage,
  pipelineDefinition,
  registerTestStackAction,
  TEST_STACK,
  URL_STACK_TEMPLATE,
  waitForExecutionEnd,
  waitForTeardownRun,
  waitForWorkflowEnd,
} from '../helpers/pipelines.ts';
import { type SourcedCloud, startSourcedCloud } from '../helpers/sourced-cloud.ts';
import { tableItems } from '../helpers/state-table.ts';

let cloud: SourcedCloud;
let app: Server;
let appUrl: string;
let codepipeline: CodePipelineClient;
let cloudformation: CloudFormationClient;

beforeAll(async () => {
  // Local knobs: CloudFormation steps in milliseconds, Step Functions Wait states without waiting.
  vi.stubEnv('STAGECREW_CFN_DELAY_MS', '20');
  vi.stubEnv('STAGECREW_SFN_WAIT_SCALE', '0');
  app = createServer((req, res) => res.writeHead(req.url === '/health' ? 200 : 500).end('ok'));
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  cloud = await startSourcedCloud({
    repository: 'cfn-app',
    files: { 'template.yaml': URL_STACK_TEMPLATE },
    parameters: { EmailSender: 'stagecrew@example.com', EmailRecipients: 'ana@example.com', TeardownGraceSeconds: 0 },
  });
  codepipeline = new CodePipelineClient(cloud.clientConfig);
  cloudformation = new CloudFormationClient(cloud.clientConfig);
});

afterAll(async () => {
  await cloud?.cleanup();
  await new Promise<void>((r) => (app ? app.close(() => r()) : r()));
  vi.unstubAllEnvs();
});

function pipelineJson() {
  const fn = cloud.cloud.model.outputs.InvokeActionFunctionName as string;
  const topic = cloud.cloud.model.outputs.ApprovalTopicArn as string;
  const cfn = (name: string, configuration: Record<string, string>, extra: Record<string, unknown> = {}) =>
    cloudFormationAction(name, configuration, { inputArtifacts: [{ name: 'SourceOutput' }], ...extra });
  return pipelineDefinition(
    'cfn-flow',
    [
      codeCommitSourceStage('cfn-app'),
      {
        name: 'DeployTest',
        actions: [
          cfn(
            'DeployTestStack',
            {
              ActionMode: 'CREATE_UPDATE',
              StackName: TEST_STACK,
              TemplatePath: 'SourceOutput::template.yaml',
              ParameterOverrides: JSON.stringify({ Url: appUrl, Env: 'test' }),
            },
            { namespace: 'TestStack' },
          ),
        ],
      },
      {
        name: 'Test',
        actions: [
          registerTestStackAction(fn, 'cfn-flow', 1),
          invokeAction(
            fn,
            'SmokeTest',
            { task: 'http-check', urls: ['#{TestStack.Url}/health'], timeoutMinutes: 1, intervalSeconds: 1 },
            2,
          ),
          freezeGateAction(fn, 'test freeze', 2),
        ],
      },
      manualApprovalStage('Approve', {
        NotificationArn: topic,
        CustomData: 'Test stack #{TestStack.Url} passed its checks',
      }),
      { name: 'Cleanup', actions: [cfn('DeleteTestStack', { ActionMode: 'DELETE_ONLY', StackName: TEST_STACK })] },
      {
        name: 'Prod',
        actions: [
          cfn('DeployProd', {
            ActionMode: 'CREATE_UPDATE',
            StackName: 'prod-app',
            TemplatePath: 'SourceOutput::template.yaml',
            ParameterOverrides: JSON.stringify({ Url: appUrl, Env: 'prod' }),
          }),
        ],
      },
    ],
    { variables: FREEZE_VARIABLES },
  );
}

const stackExists = async (name: string) => {
  try {
    const out = await cloudformation.send(new DescribeStacksCommand({ StackName: name }));
    return out.Stacks?.[0]?.StackStatus !== 'DELETE_COMPLETE';
  } catch {
    return false;
  }
};

// Real functions, a real approval round trip and CloudFormation waits: slower than the default 60 s on 2 cores.
describe('CloudFormation flow with Stagecrew approvals, Invoke actions and teardown', { timeout: 120_000 }, () => {
  it('deploys test, checks it, is approved through the emailed link, deletes test and deploys prod', async () => {
    await codepipeline.send(new CreatePipelineCommand(pipelineJson() as never));
    // The approval is waiting and Stagecrew emailed a link.
    const approve = await waitFor(async () => {
      const state = await codepipeline.send(new GetPipelineStateCommand({ name: 'cfn-flow' }));
      const failed = state.stageStates?.find((s) => s.latestExecution?.status === 'Failed');
      if (failed)
        throw new Error(
          `stage ${failed.stageName} failed: ${JSON.stringify(failed.actionStates?.map((a) => a.latestExecution?.errorDetails))}`,
        );
      return state.stageStates?.find((s) => s.stageName === 'Approve')?.latestExecution?.status === 'InProgress'
        ? state
        : undefined;
    }, 45_000);
    const executionId = approve.stageStates?.[0]?.latestExecution?.pipelineExecutionId as string;
    expect(await stackExists(`test-${executionId}`)).toBe(true);
    const link = await firstApprovalLink(cloud, 15_000);
    // GET renders the page; the decision is the page's POST form.
    const form = decisionFormOf(await (await fetch(link)).text(), link);
    expect(form).toBeDefined();
    const decided = await postDecision(form as DecisionForm, 'approve', 'checks are green');
    expect(decided.status).toBeLessThan(400);

    const done = await waitForExecutionEnd(codepipeline, 'cfn-flow', executionId, 30_000);
    expect(done).toMatchObject({ status: 'Succeeded' });
    expect(await stackExists(`test-${executionId}`)).toBe(false);
    expect(await stackExists('prod-app')).toBe(true);
  });

  it('a run whose test fails leaves no test stack behind after Stagecrew teardown', async () => {
    const prodBefore = (await cloudformation.send(new DescribeStacksCommand({ StackName: 'prod-app' }))).Stacks?.[0];
    const { pipelineExecutionId } = await codepipeline.send(
      new StartPipelineExecutionCommand({
        name: 'cfn-flow',
        variables: [{ name: 'freezeStart', value: '2000-01-01' }],
      }),
    );
    const id = pipelineExecutionId as string;
    const failed = await waitForExecutionEnd(codepipeline, 'cfn-flow', id, 45_000);
    expect(failed?.status).toBe('Failed');
    expect(failed?.statusSummary).toContain('test freeze');
    // The test stack was registered (tagged for this execution) before the gate failed the stage …
    const stack = (await cloudformation.send(new DescribeStacksCommand({ StackName: `test-${id}` }))).Stacks?.[0];
    expect(Object.fromEntries((stack?.Tags ?? []).map((t) => [t.Key, t.Value]))).toMatchObject({
      'stagecrew:managed': 'true',
      'stagecrew:pipeline': 'cfn-flow',
      'stagecrew:execution-id': id,
    });
    // … and the FAILED event reached Stagecrew, which started the teardown workflow for exactly this execution.
    const sfn = new SFNClient(cloud.clientConfig);
    const started = await waitForTeardownRun(sfn, 'cfn-flow', id, 15_000);
    const input = JSON.parse(
      (await sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }))).input ?? '{}',
    );
    expect(input).toMatchObject({ pipeline: 'cfn-flow', executionId: id, reason: 'FAILED' });

    // Teardown runs to completion: the workflow succeeds …
    const finished = await waitForWorkflowEnd(sfn, started.executionArn, 30_000);
    expect({ status: finished.status, error: finished.error, cause: finished.cause }).toMatchObject({
      status: 'SUCCEEDED',
    });
    // … the test stack is gone: no longer found by name, DELETE_COMPLETE by its StackId …
    expect(await stackExists(`test-${id}`)).toBe(false);
    const byId = (await cloudformation.send(new DescribeStacksCommand({ StackName: stack?.StackId }))).Stacks?.[0];
    expect(byId?.StackStatus).toBe('DELETE_COMPLETE');
    // … its outcome DELETED is recorded for this execution …
    const records = await tableItems(
      DynamoDBDocumentClient.from(new DynamoDBClient(cloud.clientConfig)),
      cloud.cloud.model.outputs.StateTableName as string,
      `TEARDOWN#cfn-flow#${id}`,
      'OUTCOME#',
    );
    expect(records.map((i) => ({ stackId: i.stackId, outcome: i.outcome }))).toEqual([
      { stackId: stack?.StackId, outcome: 'DELETED' },
    ]);
    // … and the untagged prod stack is untouched.
    const prodAfter = (await cloudformation.send(new DescribeStacksCommand({ StackName: 'prod-app' }))).Stacks?.[0];
    expect(prodAfter?.StackId).toBe(prodBefore?.StackId);
    expect(prodAfter?.StackStatus).toBe(prodBefore?.StackStatus);
    expect(prodAfter?.LastUpdatedTime).toEqual(prodBefore?.LastUpdatedTime);
  });
});
