/**
 * The teardown safety property end to end through the local cloud: whatever stacks a pipeline execution's teardown
 * is handed, DeleteStack reaches only the stacks Stagecrew owns for that execution.
 *
 * Each run generates a set of CloudFormation stacks (exact ownership tags; tags for another execution or pipeline;
 * `managed=false`; partial tags; look-alike keys and values that differ in case or whitespace; termination
 * protection; untagged stacks named like prod/test) and creates them in the local CloudFormation while an
 * execution of a real pipeline waits at a Manual approval. Every stack is registered for that execution (the
 * adversarial case: a registration that points at a stack someone else re-tagged since). Rejecting the approval
 * fails the execution; CodePipeline's state change reaches the pipeline-events function through EventBridge, which
 * starts the teardown state machine. Then: DeleteStack was called exactly once per owned, unprotected stack
 * (`/_local/meter`), every owned unprotected stack is DELETE_COMPLETE, every other stack is still CREATE_COMPLETE,
 * and the recorded outcomes say the same.
 *
 * Runs: STAGECREW_SAFETY_RUNS (default 8); seed: STAGECREW_FUZZ_SEED (printed on failure by fast-check).
 */
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStacksCommand,
  type Tag,
} from '@aws-sdk/client-cloudformation';
import { CodePipelineClient, CreatePipelineCommand, StartPipelineExecutionCommand } from '@aws-sdk/client-codepipeline';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { OWNERSHIP_TAGS } from '#core/jobs/ownership';
import type { MeterSnapshot } from '#local/runtime/meter';
import { waitFor } from '../helpers/local-cloud.ts';
import {
  codeCommitSourceStage,
  MARKER_STACK_TEMPLATE,
  manualApprovalStage,
  pipelineDefinition,
  rejectApproval,
  waitForExecutionEnd,
  waitForTeardownRun,
  waitForWorkflowEnd,
  waitForWorkflowRun,
  waitingApproval,
} from '../helpers/pipelines.ts';
import { type SourcedCloud, startSourcedCloud } from '../helpers/sourced-cloud.ts';
import { tableItems } from '../helpers/state-table.ts';
import { registerStackForTeardown, waitForStackStatus } from '../helpers/teardown.ts';

const RUNS = Number.parseInt(process.env.STAGECREW_SAFETY_RUNS ?? '8', 10);
const SEED = Number.parseInt(process.env.STAGECREW_FUZZ_SEED ?? '20261123', 10);
const PIPELINE = 'safety-pipe';
const OTHER_PIPELINE = 'safety-pipe-2';

let cloud: SourcedCloud;
let cfn: CloudFormationClient;
let codepipeline: CodePipelineClient;
let sfn: SFNClient;
let doc: DynamoDBDocumentClient;
let table: string;

const template = MARKER_STACK_TEMPLATE;

beforeAll(async () => {
  vi.stubEnv('STAGECREW_CFN_DELAY_MS', '5');
  vi.stubEnv('STAGECREW_SFN_WAIT_SCALE', '0');
  cloud = await startSourcedCloud({
    repository: 'safety-app',
    files: { 'template.yaml': template },
    parameters: { TeardownGraceSeconds: 0 },
  });
  cfn = new CloudFormationClient(cloud.clientConfig);
  codepipeline = new CodePipelineClient(cloud.clientConfig);
  sfn = new SFNClient(cloud.clientConfig);
  doc = DynamoDBDocumentClient.from(new DynamoDBClient(cloud.clientConfig));
  table = cloud.cloud.model.outputs.StateTableName as string;
  await codepipeline.send(
    new CreatePipelineCommand(
      pipelineDefinition(PIPELINE, [codeCommitSourceStage('safety-app'), manualApprovalStage('Hold')], {
        artifactBucket: 'safety-artifacts',
      }) as never,
    ),
  );
});

afterAll(async () => {
  await cloud?.cleanup();
  vi.unstubAllEnvs();
});

/** What a generated stack is, relative to the execution under teardown. */
const KINDS = [
  'owned',
  'other-execution',
  'other-pipeline',
  'managed-false',
  'managed-True',
  'partial-no-managed',
  'partial-no-execution',
  'partial-no-pipeline',
  'lookalike-key-case',
  'lookalike-key-space',
  'execution-upper',
  'pipeline-case',
  'untagged',
] as const;
type Kind = (typeof KINDS)[number];

const arbStack = fc.record({
  kind: fc.oneof(
    { arbitrary: fc.constant<Kind>('owned'), weight: 3 },
    { arbitrary: fc.constantFrom(...KINDS), weight: 5 },
  ),
  name: fc.constantFrom('prod', 'prod-app', 'production', 'test', 'test-{executionId}', 'staging', 'stagecrew-test'),
  protected: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
  extraTags: fc.constantFrom<Tag[]>([], [{ Key: 'env', Value: 'prod' }], [{ Key: 'team', Value: 'payments' }]),
});
type GenStack = typeof arbStack extends fc.Arbitrary<infer T> ? T : never;

const OTHER_EXECUTION = '00000000-0000-4000-8000-000000000000';
const LETTERED_EXECUTION = 'abcdef01-2345-4678-89ab-cdef01234567';

const tagsFor = (kind: Kind, executionId: string): Record<string, string> => {
  const exact = {
    [OWNERSHIP_TAGS.managed]: 'true',
    [OWNERSHIP_TAGS.pipeline]: PIPELINE,
    [OWNERSHIP_TAGS.executionId]: executionId,
  };
  const without = (key: string) => Object.fromEntries(Object.entries(exact).filter(([k]) => k !== key));
  switch (kind) {
    case 'owned':
      return exact;
    case 'other-execution':
      return { ...exact, [OWNERSHIP_TAGS.executionId]: OTHER_EXECUTION };
    case 'other-pipeline':
      return { ...exact, [OWNERSHIP_TAGS.pipeline]: OTHER_PIPELINE };
    case 'managed-false':
      return { ...exact, [OWNERSHIP_TAGS.managed]: 'false' };
    case 'managed-True':
      return { ...exact, [OWNERSHIP_TAGS.managed]: 'True' };
    case 'partial-no-managed':
      return without(OWNERSHIP_TAGS.managed);
    case 'partial-no-execution':
      return without(OWNERSHIP_TAGS.executionId);
    case 'partial-no-pipeline':
      return without(OWNERSHIP_TAGS.pipeline);
    case 'lookalike-key-case':
      return { ...without(OWNERSHIP_TAGS.managed), 'Stagecrew:Managed': 'true' };
    case 'lookalike-key-space':
      return { ...without(OWNERSHIP_TAGS.executionId), 'stagecrew:execution-id ': executionId };
    case 'execution-upper':
      return { ...exact, [OWNERSHIP_TAGS.executionId]: executionId.toUpperCase() };
    case 'pipeline-case':
      return { ...exact, [OWNERSHIP_TAGS.pipeline]: PIPELINE.toUpperCase() };
    case 'untagged':
      return {};
  }
};

const meter = async () => (await (await fetch(`${cloud.url}/_local/meter`)).json()) as MeterSnapshot;

let round = 0;

/** One execution: wait at the approval, create and register the stacks, reject, let teardown finish. */
const runOnce = async (stacks: GenStack[]) => {
  round += 1;
  await codepipeline.send(new StartPipelineExecutionCommand({ name: PIPELINE }));
  const hold = await waitFor(() => waitingApproval(codepipeline, PIPELINE, 'Hold'), 20_000);
  const { executionId } = hold;
  const created: Array<GenStack & { stackId: string; stackName: string; owned: boolean }> = [];
  for (const [i, s] of stacks.entries()) {
    const stackName = `${s.name.replace('{executionId}', executionId)}-r${round}-${i}`;
    const tags: Record<string, string> = {
      ...Object.fromEntries(s.extraTags.map((t) => [t.Key ?? '', t.Value ?? ''])),
      ...tagsFor(s.kind, executionId),
    };
    const out = await cfn.send(
      new CreateStackCommand({
        StackName: stackName,
        TemplateBody: template,
        Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
        EnableTerminationProtection: s.protected,
      }),
    );
    created.push({ ...s, stackName, stackId: out.StackId as string, owned: s.kind === 'owned' });
  }
  for (const c of created) {
    await waitForStackStatus(cfn, c.stackId, 'CREATE_COMPLETE', 15_000);
    // Registered for this execution whatever its tags say now: the ownership check must be what refuses it.
    await registerStackForTeardown(doc, table, {
      pipeline: PIPELINE,
      executionId,
      stackId: c.stackId,
      stackName: c.stackName,
    });
  }
  const before = (await meter()).calls['cloudformation:DeleteStack'] ?? 0;
  await rejectApproval(codepipeline, PIPELINE, 'Hold', hold.token, 'safety property run');
  const ended = await waitForExecutionEnd(codepipeline, PIPELINE, executionId, 15_000);
  expect(ended.status).toBe('Failed');

  // The FAILED state change reached pipeline-events, which started the teardown of exactly this execution.
  const started = await waitForTeardownRun(sfn, PIPELINE, executionId, 20_000);
  const finished = await waitForWorkflowEnd(sfn, started.executionArn, 40_000);
  expect({ status: finished.status, error: finished.error, cause: finished.cause }).toMatchObject({
    status: 'SUCCEEDED',
  });

  const deletable = created.filter((c) => c.owned && !c.protected);
  // DeleteStack only for the owned, unprotected stacks: once each (one ClientRequestToken, no retries needed).
  const deletes = ((await meter()).calls['cloudformation:DeleteStack'] ?? 0) - before;
  expect(deletes).toBe(deletable.length);
  const outcomes = new Map<string, string>();
  for (const i of await tableItems(doc, table, `TEARDOWN#${PIPELINE}#${executionId}`, 'OUTCOME#'))
    outcomes.set(String(i.stackId), String(i.outcome));
  const seen = [];
  for (const c of created) {
    const status = (await cfn.send(new DescribeStacksCommand({ StackName: c.stackId }))).Stacks?.[0]?.StackStatus;
    const expected =
      c.owned && !c.protected
        ? { status: 'DELETE_COMPLETE', outcome: ['DELETED'] }
        : c.owned
          ? { status: 'CREATE_COMPLETE', outcome: ['SKIPPED_PROTECTED'] }
          : {
              status: 'CREATE_COMPLETE',
              outcome: c.protected ? ['SKIPPED_NOT_OWNED', 'SKIPPED_PROTECTED'] : ['SKIPPED_NOT_OWNED'],
            };
    const outcome = outcomes.get(c.stackId) ?? '(none)';
    seen.push({ stack: c.stackName, kind: c.kind, protected: c.protected, status, outcome });
    expect(
      {
        stack: c.stackName,
        kind: c.kind,
        protected: c.protected,
        status,
        outcomeOk: expected.outcome.includes(outcome),
      },
      `outcome ${outcome}`,
    ).toEqual({ stack: c.stackName, kind: c.kind, protected: c.protected, status: expected.status, outcomeOk: true });
  }
  expect(outcomes.size).toBe(created.length);
  return seen;
};

// A real pipeline execution, a Step Functions run and CloudFormation deletes per property run.
describe('teardown safety through the local cloud', { timeout: 50_000 + RUNS * 30_000 }, () => {
  it('DeleteStack reaches only the stacks Stagecrew owns for the finished execution', async () => {
    const kinds = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.array(arbStack, { minLength: 1, maxLength: 6 }), async (stacks) => {
        for (const s of await runOnce(stacks)) kinds.add(`${s.kind}${s.protected ? '+protected' : ''}`);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    // The generator must have exercised owned and unowned stacks alike (checked at CI's run count and above).
    if (RUNS >= 5) {
      expect(kinds.has('owned'), [...kinds].join(', ')).toBe(true);
      expect(kinds.size, [...kinds].join(', ')).toBeGreaterThan(3);
    }
  });
});

/** What the sweeper sees on one stack: tags (exact, look-alike or partial) and its `stagecrew:expires-at`. */
const SWEEP_KINDS = [
  'expired',
  'expired-other-pipeline',
  'expires-later',
  'no-expiry',
  'expiry-garbage',
  'expired-managed-True',
  'expired-lookalike-key',
  'expired-no-pipeline',
  'expired-execution-upper',
  'expired-untagged-name',
] as const;
type SweepKind = (typeof SWEEP_KINDS)[number];

const sweepTags = (kind: SweepKind, executionId: string): Record<string, string> => {
  const past = new Date(Date.now() - 3_600_000).toISOString();
  const exact = {
    [OWNERSHIP_TAGS.managed]: 'true',
    [OWNERSHIP_TAGS.pipeline]: PIPELINE,
    [OWNERSHIP_TAGS.executionId]: executionId,
    [OWNERSHIP_TAGS.expiresAt]: past,
  };
  switch (kind) {
    case 'expired':
      return exact;
    case 'expired-other-pipeline':
      return { ...exact, [OWNERSHIP_TAGS.pipeline]: OTHER_PIPELINE };
    case 'expires-later':
      return { ...exact, [OWNERSHIP_TAGS.expiresAt]: new Date(Date.now() + 3_600_000).toISOString() };
    case 'no-expiry':
      return Object.fromEntries(Object.entries(exact).filter(([k]) => k !== OWNERSHIP_TAGS.expiresAt));
    case 'expiry-garbage':
      return { ...exact, [OWNERSHIP_TAGS.expiresAt]: 'yesterday' };
    case 'expired-managed-True':
      return { ...exact, [OWNERSHIP_TAGS.managed]: 'True' };
    case 'expired-lookalike-key':
      return {
        ...Object.fromEntries(Object.entries(exact).filter(([k]) => k !== OWNERSHIP_TAGS.managed)),
        'stagecrew:managed ': 'true',
      };
    case 'expired-no-pipeline':
      return Object.fromEntries(Object.entries(exact).filter(([k]) => k !== OWNERSHIP_TAGS.pipeline));
    case 'expired-execution-upper':
      return { ...exact, [OWNERSHIP_TAGS.executionId]: executionId.toUpperCase() };
    case 'expired-untagged-name':
      return { env: 'test', 'expires-at': past };
  }
};

/** The sweeper's own rule: exact managed tag, a pipeline name, a lower-case execution id, an expiry in the past. */
const sweepOwned = (kind: SweepKind) => kind === 'expired' || kind === 'expired-other-pipeline';

// One sweep per local cloud: the sweep's execution name is per hour, so a second sweep in the hour would collide.
describe('teardown safety through the sweeper schedule', { timeout: 60_000 }, () => {
  it('the hourly sweep deletes only expired Stagecrew-tagged stacks', async () => {
    const [stacks] = fc.sample(
      fc.array(
        fc.record({
          kind: fc.constantFrom(...SWEEP_KINDS),
          name: fc.constantFrom('prod', 'prod-app', 'test', 'staging'),
          protected: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
          executionId: fc.uuid({ version: 4 }),
        }),
        { minLength: 8, maxLength: 14 },
      ),
      { numRuns: 1, seed: SEED },
    ) as [Array<{ kind: SweepKind; name: string; protected: boolean; executionId: string }>];
    // Every kind at least once (unprotected), whatever the seed; the sample adds protection and repeats.
    const kinds = new Set(stacks.map((s) => s.kind));
    for (const kind of SWEEP_KINDS) {
      if (!kinds.has(kind)) stacks.push({ kind, name: 'test', protected: false, executionId: LETTERED_EXECUTION });
    }
    // An upper-cased id must differ from the tag the sweeper accepts: give all-digit ids a letter.
    for (const s of stacks) if (!/[a-f]/.test(s.executionId)) s.executionId = LETTERED_EXECUTION;
    const created: Array<(typeof stacks)[number] & { stackId: string; stackName: string }> = [];
    for (const [i, s] of stacks.entries()) {
      const stackName = `sweep-${s.name}-${i}`;
      const tags = sweepTags(s.kind, s.executionId);
      const out = await cfn.send(
        new CreateStackCommand({
          StackName: stackName,
          TemplateBody: template,
          Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
          EnableTerminationProtection: s.protected,
        }),
      );
      created.push({ ...s, stackName, stackId: out.StackId as string });
    }
    for (const c of created) await waitForStackStatus(cfn, c.stackId, 'CREATE_COMPLETE', 15_000);
    const before = (await meter()).calls['cloudformation:DeleteStack'] ?? 0;
    const schedule = cloud.cloud.model.schedules.find((x) => x.functionName.includes('TeardownSweeper'));
    expect(schedule, 'the sweeper schedule').toBeDefined();
    const res = await fetch(`${cloud.url}/_local/schedules/${encodeURIComponent(schedule?.name ?? '')}`, {
      method: 'POST',
    });
    expect(res.status).toBe(202);
    const started = await waitForWorkflowRun(sfn, (name) => name.startsWith('sweep-'), 20_000);
    const finished = await waitForWorkflowEnd(sfn, started.executionArn, 40_000);
    expect({ status: finished.status, error: finished.error, cause: finished.cause }).toMatchObject({
      status: 'SUCCEEDED',
    });
    for (const c of created) {
      const status = (await cfn.send(new DescribeStacksCommand({ StackName: c.stackId }))).Stacks?.[0]?.StackStatus;
      const want = sweepOwned(c.kind) && !c.protected ? 'DELETE_COMPLETE' : 'CREATE_COMPLETE';
      expect({ stack: c.stackName, kind: c.kind, protected: c.protected, status }).toEqual({
        stack: c.stackName,
        kind: c.kind,
        protected: c.protected,
        status: want,
      });
      if (!sweepOwned(c.kind)) continue;
      // Swept stacks are recorded under their own execution, as the tags name it.
      const pipeline = c.kind === 'expired-other-pipeline' ? OTHER_PIPELINE : PIPELINE;
      const item = await doc.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk AND sk = :sk',
          ExpressionAttributeValues: { ':pk': `TEARDOWN#${pipeline}#${c.executionId}`, ':sk': `OUTCOME#${c.stackId}` },
        }),
      );
      expect(item.Items?.[0]?.outcome, c.stackName).toBe(c.protected ? 'SKIPPED_PROTECTED' : 'DELETED');
    }
    const deletable = created.filter((c) => sweepOwned(c.kind) && !c.protected);
    expect(((await meter()).calls['cloudformation:DeleteStack'] ?? 0) - before).toBe(deletable.length);
  });
});
