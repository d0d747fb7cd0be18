/**
 * SIGKILL of the local cloud (`node local/main.ts` as a child process) at random and at named points of running
 * pipelines, restarted on the same state directory: every run completes, and every record the API acknowledged
 * before a kill is still there after it.
 *
 * Named points: an approval pending, after Stagecrew's approval email reached the outbox (approved after the
 * restart with the emailed link); a test stack DELETE_IN_PROGRESS by Stagecrew's teardown (a run whose gate
 * fails); and, opt-in (STAGECREW_RESTART_LONG=1, about 4 minutes), an Invoke `gate` job killed mid-invocation
 * while it hands back continuation tokens. Random points: a seeded PRNG picks delays after each run starts;
 * STAGECREW_RESTART_SEED=<seed> replays a run.
 *
 * Why the continuation case is opt-in: a `gate` continues only while its opening is more than one invocation
 * budget (60 s, from the function's 120 s Timeout) away, so it completes a minute later at the earliest; and a
 * job whose invocation dies is locked (idempotency record INPROGRESS) until the dead invocation's timeout, then
 * picked up by Lambda's async retries (one and two minutes), so it completes about three minutes after the kill.
 * The same holds for a pipeline event claimed by a killed invocation. The CI kills therefore wait for a moment
 * when nothing is held (see `held`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  CodePipelineClient,
  CreatePipelineCommand,
  GetPipelineExecutionCommand,
  GetPipelineStateCommand,
  ListActionExecutionsCommand,
  ListPipelineExecutionsCommand,
  StartPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import {
  approvalLinkOf,
  type DecisionForm,
  decisionFormOf,
  outbox as outboxOf,
  postDecision,
} from '../helpers/approvals.ts';
import { type CloudProcess, cloudProcess } from '../helpers/cloud-process.ts';
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
} from '../helpers/pipelines.ts';
import { seededRandom } from '../helpers/random.ts';
import { editSettings } from '../helpers/settings.ts';
import { tableItems } from '../helpers/state-table.ts';
import { type GitFixture, gitFixture } from '../unit/local/codepipeline/git-fixture.ts';

const SEED = Number(process.env.STAGECREW_RESTART_SEED ?? Math.floor(Math.random() * 2 ** 31));
const random = seededRandom(SEED);
const PIPELINE = 'restarts';
const TABLE = 'stagecrew-StateTable';
const FUNCTION = 'stagecrew-InvokeActionFunction';
const TOPIC = 'arn:aws:sns:us-east-1:000000000000:stagecrew-ApprovalTopic';
// 800 ms per CloudFormation step: DELETE_IN_PROGRESS lasts long enough for the kill to land in it on a loaded machine.
const ENV = { STAGECREW_CFN_DELAY_MS: '800', STAGECREW_SFN_WAIT_SCALE: '0' };

let repo: GitFixture;
let stateDir: string;
let cloud: CloudProcess;
let codepipeline: CodePipelineClient;
let cloudformation: CloudFormationClient;
let sfn: SFNClient;
let doc: DynamoDBDocumentClient;
const kills: Array<{ phase: string; at: string }> = [];

const stackTemplate = [
  'Resources:',
  '  Marker:',
  '    Type: AWS::SSM::Parameter',
  '    Properties: { Type: String, Value: test }',
  '',
].join('\n');

const pipeline = pipelineDefinition(
  PIPELINE,
  [
    codeCommitSourceStage('restarts-app', { PollForSourceChanges: 'false' }),
    {
      name: 'DeployTest',
      actions: [
        cloudFormationAction(
          'DeployTestStack',
          { ActionMode: 'CREATE_UPDATE', StackName: TEST_STACK, TemplatePath: 'SourceOutput::template.yaml' },
          { inputArtifacts: [{ name: 'SourceOutput' }] },
        ),
      ],
    },
    {
      name: 'Test',
      actions: [registerTestStackAction(FUNCTION, PIPELINE, 1), freezeGateAction(FUNCTION, 'test freeze', 2)],
    },
    manualApprovalStage('Approve', { NotificationArn: TOPIC, CustomData: 'restart test' }),
    {
      name: 'Cleanup',
      actions: [cloudFormationAction('DeleteTestStack', { ActionMode: 'DELETE_ONLY', StackName: TEST_STACK })],
    },
  ],
  { variables: FREEZE_VARIABLES },
);

// ---- what the API acknowledged ------------------------------------------------------------------------------

type Snapshot = {
  items: Map<string, Record<string, unknown>>;
  outbox: Set<string>;
  executions: Map<string, string>;
  actions: Map<string, string>;
  workflows: Map<string, string>;
  stacks: Map<string, string>;
};

/** Items whose removal is part of the flow: the reminder worklist, teardown waits, idempotency and rate records. */
const TRANSIENT = /^(APPROVALS_PENDING|TEARDOWN-WAIT#|IDEMPOTENCY#|RATE#)/;
const TERMINAL = new Set(['Succeeded', 'Failed', 'Stopped', 'Superseded', 'Cancelled', 'Abandoned']);

const scanTable = async () => {
  const items = new Map<string, Record<string, unknown>>();
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({ TableName: TABLE, ...(ExclusiveStartKey ? { ExclusiveStartKey } : {}) }),
    );
    for (const i of page.Items ?? []) items.set(`${i.pk}|${i.sk}`, i);
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
};

const outbox = () => outboxOf(cloud);

const workflows = async () => {
  const out = new Map<string, string>();
  for (const m of (await sfn.send(new ListStateMachinesCommand({}))).stateMachines ?? []) {
    for (const e of (await sfn.send(new ListExecutionsCommand({ stateMachineArn: m.stateMachineArn }))).executions ??
      [])
      out.set(e.executionArn as string, e.status as string);
  }
  return out;
};

const snapshot = async (stackIds: string[]): Promise<Snapshot> => {
  const executions = new Map<string, string>();
  for (const e of (await codepipeline.send(new ListPipelineExecutionsCommand({ pipelineName: PIPELINE })))
    .pipelineExecutionSummaries ?? [])
    executions.set(e.pipelineExecutionId as string, e.status as string);
  const actions = new Map<string, string>();
  for (const a of (await codepipeline.send(new ListActionExecutionsCommand({ pipelineName: PIPELINE })))
    .actionExecutionDetails ?? [])
    actions.set(a.actionExecutionId as string, a.status as string);
  const stacks = new Map<string, string>();
  for (const id of stackIds) {
    const s = (await cloudformation.send(new DescribeStacksCommand({ StackName: id }))).Stacks?.[0];
    if (s) stacks.set(id, s.StackStatus as string);
  }
  return {
    items: await scanTable(),
    outbox: new Set((await outbox()).map((m) => m.id)),
    executions,
    actions,
    workflows: await workflows(),
    stacks,
  };
};

/** Everything acknowledged before the kill is still there; nothing that had ended has changed its ending. */
const expectKept = (before: Snapshot, after: Snapshot, phase: string) => {
  const lost: string[] = [];
  for (const [key, item] of before.items) {
    if (TRANSIENT.test(String(item.pk))) continue;
    if (!after.items.has(key)) lost.push(`table item ${key} (${String(item.type)})`);
  }
  for (const id of before.outbox) if (!after.outbox.has(id)) lost.push(`outbox message ${id}`);
  for (const [id, status] of before.executions) {
    const now = after.executions.get(id);
    if (now === undefined) lost.push(`pipeline execution ${id}`);
    else if (TERMINAL.has(status) && now !== status) lost.push(`pipeline execution ${id} ${status} → ${now}`);
  }
  for (const [id, status] of before.actions) {
    const now = after.actions.get(id);
    if (now === undefined) lost.push(`action execution ${id}`);
    else if (TERMINAL.has(status) && now !== status) lost.push(`action execution ${id} ${status} → ${now}`);
  }
  for (const [arn, status] of before.workflows) {
    const now = after.workflows.get(arn);
    if (now === undefined) lost.push(`state machine execution ${arn}`);
    else if (status !== 'RUNNING' && now !== status) lost.push(`state machine execution ${arn} ${status} → ${now}`);
  }
  for (const id of before.stacks.keys()) if (!after.stacks.has(id)) lost.push(`stack ${id}`);
  expect(lost, `records lost across the kill at ${phase} (seed ${SEED})`).toEqual([]);
  const kept = [...before.items.values()].filter((i) => !TRANSIENT.test(String(i.pk))).length;
  return kept + before.outbox.size + before.executions.size + before.actions.size + before.workflows.size;
};

let acknowledged = 0;

/**
 * Is work held by a running invocation: an Invoke job (idempotency record INPROGRESS) or a pipeline event (ledger
 * claim IN_PROGRESS)? A kill then leaves it locked until the dead invocation's timeout or lease (120 s) and the
 * Lambda retry after it: it completes, but minutes later (see the long scenario below), too slow for CI. The CI
 * kills wait for a moment when nothing is held.
 */
const held = async () => {
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({
        TableName: TABLE,
        FilterExpression: '(pk = :jobs AND #s = :inprogress) OR (begins_with(pk, :event) AND #s = :claimed)',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: {
          ':jobs': 'IDEMPOTENCY#invoke-action',
          ':inprogress': 'INPROGRESS',
          ':event': 'EVENT#',
          ':claimed': 'IN_PROGRESS',
        },
        ...(ExclusiveStartKey ? { ExclusiveStartKey } : {}),
      }),
    );
    if ((page.Items?.length ?? 0) > 0) return true;
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return false;
};

type CrashOptions = { stackIds?: string[]; when?: () => Promise<boolean>; holdingJobs?: boolean };

/** SIGKILL (once `when` holds), start again on the same state, and check every record acknowledged before. */
const crash = async (phase: string, options: CrashOptions = {}) => {
  const stackIds = options.stackIds ?? [];
  const before = await snapshot(stackIds);
  const ready = async () => (options.holdingJobs || !(await held())) && (await (options.when?.() ?? true));
  await waitFor(ready, 20_000, 10);
  await cloud.kill();
  kills.push({ phase, at: new Date().toISOString() });
  await cloud.start(ENV);
  acknowledged += expectKept(before, await snapshot(stackIds), phase);
};

/** A seeded random delay, then SIGKILL and restart (the records checked as for every crash). */
const crashAfterRandomDelay = async (phase: string, maxMs: number, options: CrashOptions = {}) => {
  const delay = Math.floor(random() * maxMs);
  await new Promise((r) => setTimeout(r, delay));
  await crash(`${phase} +${delay} ms`, options);
};

// ---- pipeline helpers ---------------------------------------------------------------------------------------

const execution = async (id: string) =>
  (await codepipeline.send(new GetPipelineExecutionCommand({ pipelineName: PIPELINE, pipelineExecutionId: id })))
    .pipelineExecution;

const ended = (id: string, timeoutMs: number) =>
  waitFor(async () => {
    const e = await execution(id);
    return e && TERMINAL.has(e.status as string) ? e : undefined;
  }, timeoutMs);

const stackOf = async (name: string) =>
  (await cloudformation.send(new DescribeStacksCommand({ StackName: name })).catch(() => undefined))?.Stacks?.[0];

const query = (pk: string, prefix: string) => tableItems(doc, TABLE, pk, prefix);

const approvalLink = async (executionId: string) =>
  waitFor(
    async () => {
      for (const m of await outbox()) {
        if (m.channel !== 'email' || !m.text.includes(executionId)) continue;
        const link = approvalLinkOf(m);
        if (link) return { link, messageId: m.id };
      }
      return undefined;
    },
    20_000,
    100,
  );

const approve = async (link: string) => {
  const page = await (await fetch(link)).text();
  const form = decisionFormOf(page, link);
  expect(form, page.slice(0, 500)).toBeDefined();
  return postDecision(form as DecisionForm, 'approve', 'approved after a restart');
};

// ---- setup --------------------------------------------------------------------------------------------------

beforeAll(async () => {
  repo = gitFixture({ 'template.yaml': stackTemplate });
  writeFileSync(join(repo.root, 'sources.json'), JSON.stringify({ 'restarts-app': repo.repo }));
  stateDir = mkdtempSync(join(tmpdir(), 'stagecrew-restarts-'));
  cloud = await cloudProcess(stateDir, { STAGECREW_SOURCES: join(repo.root, 'sources.json') });
  await cloud.start(ENV);
  codepipeline = new CodePipelineClient(cloud.clientConfig);
  cloudformation = new CloudFormationClient(cloud.clientConfig);
  sfn = new SFNClient(cloud.clientConfig);
  doc = DynamoDBDocumentClient.from(new DynamoDBClient(cloud.clientConfig));
  // Email approvals and no teardown grace period, in the settings document (as an operator would edit it).
  await editSettings(cloud.clientConfig, (settings) => {
    settings.approvals.defaults.emails = ['ana@example.com'];
    settings.notifications.emailSender = 'stagecrew@example.com';
    settings.teardown.graceSeconds = 0;
  });
}, 60_000);

afterAll(async () => {
  await cloud?.kill();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  repo?.cleanup();
  console.log(`restarts: seed ${SEED}; ${kills.length} kills; ${acknowledged} acknowledged records checked`);
  for (const k of kills) console.log(`  kill at ${k.phase}`);
});

const failureContext = () =>
  onTestFailed(async () => {
    console.log(`restarts: replay with STAGECREW_RESTART_SEED=${SEED}`);
    try {
      const state = await codepipeline.send(new GetPipelineStateCommand({ name: PIPELINE }));
      console.log(
        JSON.stringify(
          state.stageStates?.map((s) => [
            s.stageName,
            s.latestExecution,
            s.actionStates?.map((a) => [a.actionName, a.latestExecution]),
          ]),
        ),
      );
    } catch (err) {
      console.log(String(err));
    }
    console.log(cloud.output().slice(-20_000));
  });

describe('SIGKILL restarts mid-pipeline', { timeout: 90_000 }, () => {
  it('an approved run survives kills at random points and while its approval is pending', async () => {
    failureContext();
    await codepipeline.send(new CreatePipelineCommand(pipeline as never));
    const first = await waitFor(async () => {
      const list = await codepipeline.send(new ListPipelineExecutionsCommand({ pipelineName: PIPELINE }));
      return list.pipelineExecutionSummaries?.[0]?.pipelineExecutionId;
    }, 10_000);
    // Somewhere in Source, DeployTest or Test.
    await crashAfterRandomDelay('run 1 start', 4_000);

    // Approval pending, its email in the outbox.
    const { link, messageId } = await approvalLink(first);
    const approvalId = decodeURIComponent(/\/approvals\/([^/?#]+)/.exec(link)?.[1] ?? '');
    expect((await query(`APPROVAL#${approvalId}`, 'META'))[0]).toMatchObject({ status: 'PENDING' });
    const state = await codepipeline.send(new GetPipelineStateCommand({ name: PIPELINE }));
    expect(state.stageStates?.find((s) => s.stageName === 'Approve')?.latestExecution?.status).toBe('InProgress');
    const stackId = (await stackOf(`test-${first}`))?.StackId as string;
    await crash('approval pending', { stackIds: [stackId] });
    expect((await outbox()).map((m) => m.id)).toContain(messageId);

    // The link emailed before the kill still works; the decision is acknowledged once.
    const decided = await approve(link);
    expect(decided.status).toBeLessThan(400);
    await crashAfterRandomDelay('after the decision', 1_500);

    const done = await ended(first, 30_000);
    expect(done?.status).toBe('Succeeded');
    const meta = (await query(`APPROVAL#${approvalId}`, 'META'))[0];
    expect(meta).toMatchObject({ status: 'APPROVED' });
    // One decision recorded: one vote.
    expect(await query(`APPROVAL#${approvalId}`, 'VOTE#')).toHaveLength(1);
    // One PutApprovalResult: the action succeeded once, and a second decision on the same link is refused.
    const approvals = (
      await codepipeline.send(
        new ListActionExecutionsCommand({ pipelineName: PIPELINE, filter: { pipelineExecutionId: first } }),
      )
    ).actionExecutionDetails?.filter((a) => a.actionName === 'Approve');
    expect(approvals?.map((a) => a.status)).toEqual(['Succeeded']);
    // The emailed link now shows the decision instead of a form.
    const again = await (await fetch(link)).text();
    expect(again).not.toContain('<form method="post"');
    expect((await stackOf(stackId))?.StackStatus).toBe('DELETE_COMPLETE');
  });

  it('a failed run is torn down across a kill while its test stack is deleting', async () => {
    failureContext();
    const { pipelineExecutionId } = await codepipeline.send(
      new StartPipelineExecutionCommand({ name: PIPELINE, variables: [{ name: 'freezeStart', value: '2000-01-01' }] }),
    );
    const id = pipelineExecutionId as string;
    await crashAfterRandomDelay('run 2 start', 3_000);
    const failed = await ended(id, 30_000);
    expect(failed?.status).toBe('Failed');
    const stackId = (await stackOf(`test-${id}`))?.StackId as string;
    expect(stackId).toBeDefined();
    // Kill while Stagecrew's teardown is deleting the stack.
    await crash('stack deleting', {
      stackIds: [stackId],
      when: async () => (await stackOf(stackId))?.StackStatus === 'DELETE_IN_PROGRESS',
    });

    const run = await waitFor(async () => {
      const all = await workflows();
      const arn = [...all.keys()].find((a) => a.endsWith(`:${PIPELINE}--${id}`));
      return arn && all.get(arn) !== 'RUNNING' ? arn : undefined;
    }, 30_000);
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: run }));
    expect({ status: described.status, cause: described.cause }).toMatchObject({ status: 'SUCCEEDED' });
    expect((await stackOf(stackId))?.StackStatus).toBe('DELETE_COMPLETE');
    const outcomes = await query(`TEARDOWN#${PIPELINE}#${id}`, 'OUTCOME#');
    expect(outcomes.map((o) => ({ stackId: o.stackId, outcome: o.outcome }))).toEqual([
      { stackId, outcome: 'DELETED' },
    ]);
    const runs = await query(`TEARDOWN#${PIPELINE}#${id}`, 'RUN#');
    expect(runs).toHaveLength(1);
    expect((await execution(id))?.status).toBe('Failed');
  });

  it.runIf(process.env.STAGECREW_RESTART_LONG === '1')(
    'an Invoke gate job killed mid-invocation between continuations completes with one result',
    { timeout: 420_000 },
    async () => {
      failureContext();
      // The gate opens at the first minute boundary at least 70 s away: it hands back continuation tokens until
      // its opening is within one invocation budget, then waits for it inside the invocation.
      const opens = Math.ceil((Date.now() + 70_000) / 60_000) * 60_000;
      const name = 'restarts-gate';
      await codepipeline.send(
        new CreatePipelineCommand({
          pipeline: {
            ...pipeline.pipeline,
            name,
            variables: [],
            stages: [
              pipeline.pipeline.stages[0],
              {
                name: 'Gate',
                actions: [
                  invokeAction(
                    FUNCTION,
                    'Gate',
                    {
                      task: 'gate',
                      freezes: [{ start: '2000-01-01', end: new Date(opens).toISOString(), reason: 'restart freeze' }],
                      whenClosed: 'wait',
                    },
                    1,
                  ),
                ],
              },
            ],
          },
        } as never),
      );
      const gateRun = async () =>
        (
          await codepipeline.send(new ListActionExecutionsCommand({ pipelineName: name }))
        ).actionExecutionDetails?.filter((a) => a.actionName === 'Gate') ?? [];
      // Continuations were acknowledged (CodePipeline shows their summary) …
      await waitFor(
        async () => {
          const state = await codepipeline.send(new GetPipelineStateCommand({ name }));
          const gate = state.stageStates?.find((s) => s.stageName === 'Gate')?.actionStates?.[0]?.latestExecution;
          return gate?.status === 'InProgress' && gate.summary?.includes('gate closed');
        },
        30_000,
        50,
      );
      // … and the opening is now within one invocation budget: the latest continuation's invocation waits for it.
      // Kill it mid-invocation (its idempotency record INPROGRESS), a seeded moment into that wait.
      const waitFrom = opens - 55_000 + Math.floor(random() * 20_000);
      await new Promise((r) => setTimeout(r, Math.max(0, waitFrom - Date.now())));
      await crash(`gate continuation, ${Math.round((opens - Date.now()) / 1000)} s before the gate opens`, {
        holdingJobs: true,
        when: held,
      });
      const id = (await gateRun())[0]?.pipelineExecutionId as string;
      const done = await waitFor(
        async () => {
          const e = (
            await codepipeline.send(new GetPipelineExecutionCommand({ pipelineName: name, pipelineExecutionId: id }))
          ).pipelineExecution;
          return e && TERMINAL.has(e.status as string) ? e : undefined;
        },
        360_000,
        500,
      );
      expect(done?.status).toBe('Succeeded');
      const runs = await gateRun();
      expect(runs.map((a) => a.status)).toEqual(['Succeeded']);
      expect(runs[0]?.output?.outputVariables?.GateDecision).toBe('open');
      // One final result: after the restart exactly one invocation reported the job's success.
      const invocations = (await (
        await fetch(`${cloud.url}/_local/invocations?function=${FUNCTION}`)
      ).json()) as Array<{ result?: { kind?: string; outcome?: string }; errorType?: string }>;
      const finals = invocations.filter((i) => i.result?.kind === 'success');
      expect(finals.map((i) => i.result?.outcome)).toEqual(['reported']);
      // The redeliveries that met the dead invocation's lock failed (Lambda retried them) instead of dropping the job.
      const locked = invocations.filter((i) => i.errorType === 'JobInProgressError').length;
      expect(locked).toBeGreaterThan(0);
      console.log(
        `restarts: gate job completed ${Math.round((Date.now() - opens) / 1000)} s after the gate opened; ${locked} deliveries met the lock`,
      );
    },
  );
});
