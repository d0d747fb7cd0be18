/**
 * Measures what Stagecrew would be billed for per pipeline execution: a started local cloud runs N executions of a
 * representative pipeline (Source → Build → deploy a test stack → Stagecrew Invoke actions `register-test-stack`,
 * `http-check`, `gate` → manual approval decided through Stagecrew's emailed link, page GET + decision POST →
 * delete the test stack → deploy prod). Every `COST_FAIL_EVERY`-th execution has its gate closed: the Test stage
 * fails and Stagecrew's teardown deletes the registered test stack.
 *
 * Each execution gets its own `/_local/meter` window (reset before, read once everything it caused has finished),
 * so the counts come out per succeeded and per failed execution. Besides the meter it records:
 * - DynamoDB request units as DynamoDB would bill them: every request the functions send is forwarded with
 *   `ReturnConsumedCapacity: TOTAL` (dynalite sizes the items: 1 KB per write unit, 4 KB per read unit, half for
 *   eventually consistent reads), plus one extra write per write to an item carrying the `gsi1` keys (the index
 *   projects ALL attributes, so it costs what the table write costs);
 * - Step Functions state transitions of the teardown executions started in the window (`stateTransitionCount`);
 * - emails by recipient and Slack calls from the outbox; the bytes the functions wrote to stdout/stderr (what
 *   CloudWatch Logs would ingest, before Lambda's own START/END/REPORT lines).
 *
 * Writes the counts as JSON (default bench/results/cost-counts.json) and prints the cost section computed from them
 * by scripts/cost-model.ts.
 *
 *   npx node bench/cost-run.ts                                # 8 executions, every 4th fails
 *   COST_RUNS=20 COST_FAIL_EVERY=5 npx node bench/cost-run.ts --out counts.json
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CodePipelineClient, CreatePipelineCommand, ListPipelineExecutionsCommand } from '@aws-sdk/client-codepipeline';
import { startLocalCloud } from '../local/main.ts';
import type { MeterSnapshot } from '../local/runtime/meter.ts';
import { emptyCounts, type MeasuredCounts, type Measurement, markdown } from '../scripts/cost-model.ts';
import { decisionFormOf, postDecision } from '../test/helpers/approvals.ts';
import {
  actionType,
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
} from '../test/helpers/pipelines.ts';
import { gitFixture } from '../test/unit/local/codepipeline/git-fixture.ts';

const { values } = parseArgs({ options: { out: { type: 'string' } } });
const RUNS = Number(process.env.COST_RUNS ?? 8);
const FAIL_EVERY = Number(process.env.COST_FAIL_EVERY ?? 4);
if (!Number.isInteger(RUNS) || RUNS < 2 || !Number.isInteger(FAIL_EVERY) || FAIL_EVERY < 2)
  throw new Error('COST_RUNS must be an integer ≥ 2 and COST_FAIL_EVERY an integer ≥ 2');
const OUT = resolve(values.out ?? join('bench', 'results', 'cost-counts.json'));
const PIPELINE = 'cost-flow';

// ---- the world: a git source, a tiny app for http-check, local knobs for speed --------------------------------
process.env.STAGECREW_CFN_DELAY_MS = '20';
process.env.STAGECREW_SFN_WAIT_SCALE = '0';
const app = createServer((req, res) => res.writeHead(req.url === '/health' ? 200 : 500).end('ok'));
await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
const appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
const repo = gitFixture({
  'template.yaml': URL_STACK_TEMPLATE,
  'buildspec.yml':
    'version: 0.2\nphases:\n  build:\n    commands:\n      - echo built > built.txt\nartifacts:\n  files:\n    - "**/*"\n',
});
const root = mkdtempSync(join(tmpdir(), 'stagecrew-cost-'));
writeFileSync(join(root, 'sources.json'), JSON.stringify({ 'cost-app': repo.repo }));
process.env.STAGECREW_SOURCES = join(root, 'sources.json');
// One approval reaches Slack and two email recipients; teardown starts without the grace wait.
writeFileSync(
  join(root, 'stagecrew.local.json'),
  JSON.stringify({
    parameters: {
      SlackDefaultChannel: 'C0COST',
      EmailSender: 'stagecrew@example.com',
      EmailRecipients: 'ana@example.com,bo@example.com',
      TeardownGraceSeconds: 0,
    },
  }),
);

// Function output: counted (CloudWatch Logs ingestion), not printed. The cloud's own log lines are dropped too.
let logBytes = 0;
let logLines = 0;
const swallow =
  (stream: NodeJS.WriteStream) =>
  (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    for (const line of text.split('\n')) {
      const m = /^\[stagecrew-[^\]]+\] (.*)$/.exec(line);
      if (m) {
        logBytes += Buffer.byteLength(m[1] as string) + 1;
        logLines += 1;
      }
    }
    const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    cb?.();
    void stream;
    return true;
  };
const realStdout = process.stdout.write.bind(process.stdout);
const realStderr = process.stderr.write.bind(process.stderr);
process.stdout.write = swallow(process.stdout) as typeof process.stdout.write;
process.stderr.write = swallow(process.stderr) as typeof process.stderr.write;
const print = (s: string) => realStdout(s);

const started = performance.now();
const load0 = loadavg()[0] ?? 0;
const cloud = await startLocalCloud({
  port: 0,
  stateDir: join(root, 'state'),
  localConfigPath: join(root, 'stagecrew.local.json'),
  quiet: false, // the functions' output is what CloudWatch Logs would ingest: counted above
  schedules: false,
  asyncRetryDelaysMs: [20, 40],
});
const clientConfig = {
  endpoint: cloud.url,
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
};
const codepipeline = new CodePipelineClient(clientConfig);

// ---- DynamoDB: ask for ConsumedCapacity on every request the functions send --------------------------------------
type DdbTally = { wru: number; rru: number; writes: Array<{ pk: string; sk: string; units: number }> };
let ddb: DdbTally = { wru: 0, rru: 0, writes: [] };
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);
const READS = new Set(['GetItem', 'Query', 'Scan']);
const proxy = cloud.dynamodb.proxy.bind(cloud.dynamodb);
cloud.dynamodb.proxy = async (req: IncomingMessage, body: Buffer, res: ServerResponse, discard = false) => {
  const target = String(req.headers['x-amz-target'] ?? '');
  const operation = target.slice(target.indexOf('.') + 1);
  let input: Record<string, unknown>;
  try {
    input = JSON.parse(body.toString('utf8') || '{}');
  } catch {
    return proxy(req, body, res, discard);
  }
  if (!WRITES.has(operation) && !READS.has(operation)) return proxy(req, body, res, discard);
  const asked = input.ReturnConsumedCapacity;
  const chunks: Buffer[] = [];
  const write = res.write.bind(res);
  const end = res.end.bind(res);
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (chunk) chunks.push(Buffer.from(chunk as Buffer));
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof res.write;
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    if (chunk && typeof chunk !== 'function') chunks.push(Buffer.from(chunk as Buffer));
    return (end as (...a: unknown[]) => ServerResponse)(chunk, ...rest);
  }) as typeof res.end;
  // The caller did not ask for capacity: it gets the extra field, which every SDK ignores.
  const sent = Buffer.from(JSON.stringify({ ...input, ReturnConsumedCapacity: asked ?? 'TOTAL' }));
  await proxy(req, sent, res, discard);
  let units = 0;
  try {
    const out = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as {
      ConsumedCapacity?: { CapacityUnits?: number };
      __type?: string;
    };
    units = out.ConsumedCapacity?.CapacityUnits ?? 0;
    // A failed conditional write still consumes (at least) one write unit.
    if (units === 0 && WRITES.has(operation) && out.__type?.includes('ConditionalCheckFailed')) units = 1;
  } catch {
    // a discarded or cut answer: counted as the minimum
    units = WRITES.has(operation) ? 1 : 0.5;
  }
  if (WRITES.has(operation)) {
    ddb.wru += units;
    const key = (input.Key ?? input.Item ?? {}) as Record<string, { S?: string }>;
    ddb.writes.push({ pk: key.pk?.S ?? '', sk: key.sk?.S ?? '', units });
  } else ddb.rru += units;
};

// ---- the pipeline ----------------------------------------------------------------------------------------------
const fn = cloud.model.outputs.InvokeActionFunctionName as string;
const topic = cloud.model.outputs.ApprovalTopicArn as string;
const table = cloud.model.outputs.StateTableName as string;
const cfn = (name: string, configuration: Record<string, string>, extra: Record<string, unknown> = {}) =>
  cloudFormationAction(name, configuration, { inputArtifacts: [{ name: 'BuildOutput' }], ...extra });
const pipeline = pipelineDefinition(
  PIPELINE,
  [
    codeCommitSourceStage('cost-app', { PollForSourceChanges: 'false' }),
    {
      name: 'Build',
      actions: [
        {
          name: 'Build',
          actionTypeId: actionType('Build', 'CodeBuild'),
          configuration: { ProjectName: 'cost-app' },
          inputArtifacts: [{ name: 'SourceOutput' }],
          outputArtifacts: [{ name: 'BuildOutput' }],
        },
      ],
    },
    {
      name: 'DeployTest',
      actions: [
        cfn(
          'DeployTestStack',
          {
            ActionMode: 'CREATE_UPDATE',
            StackName: TEST_STACK,
            TemplatePath: 'BuildOutput::template.yaml',
            ParameterOverrides: JSON.stringify({ Url: appUrl, Env: 'test' }),
          },
          { namespace: 'TestStack' },
        ),
      ],
    },
    {
      name: 'Test',
      actions: [
        registerTestStackAction(fn, PIPELINE, 1),
        invokeAction(fn, 'SmokeTest', { task: 'http-check', urls: ['#{TestStack.Url}/health'], timeoutMinutes: 1 }, 2),
        freezeGateAction(fn, 'release freeze', 2),
      ],
    },
    manualApprovalStage('Approve', {
      NotificationArn: topic,
      CustomData: 'Test stack #{TestStack.Url} passed its checks',
    }),
    {
      name: 'Cleanup',
      actions: [
        { ...cfn('DeleteTestStack', { ActionMode: 'DELETE_ONLY', StackName: TEST_STACK }), inputArtifacts: [] },
      ],
    },
    {
      name: 'Prod',
      actions: [
        cfn('DeployProd', {
          ActionMode: 'CREATE_UPDATE',
          StackName: 'prod-app',
          TemplatePath: 'BuildOutput::template.yaml',
          ParameterOverrides: JSON.stringify({ Url: appUrl, Env: 'prod' }),
        }),
      ],
    },
  ],
  { variables: FREEZE_VARIABLES },
).pipeline;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = async <T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
};
const api = async <T>(path: string, init?: RequestInit): Promise<T> =>
  (await (await fetch(`${cloud.url}${path}`, init)).json()) as T;
type OutboxEntry = { id: string; channel: 'slack' | 'email'; to: string[]; links: string[] };
const outbox = () => api<OutboxEntry[]>('/_local/outbox');
// The bench's own CodePipeline calls go in-process: the meter's HTTP counts are then the functions' calls only.
const cp = (operation: string, input: Record<string, unknown>) => cloud.ctx.call('codepipeline', operation, input);
const execution = async (id: string) =>
  (await cp('GetPipelineExecution', { pipelineName: PIPELINE, pipelineExecutionId: id })).pipelineExecution as
    | { status?: string; statusSummary?: string }
    | undefined;

/** Follows the emailed link: GET the confirmation page, POST its form with decision=approve. */
const approveThroughLink = async (link: string) => {
  const page = await (await fetch(link)).text();
  const form = decisionFormOf(page, link);
  if (!form) throw new Error(`no decision form on ${link}`);
  const decided = await postDecision(form, 'approve', 'checks are green');
  await decided.arrayBuffer();
  if (decided.status >= 400) throw new Error(`decision POST answered ${decided.status}`);
};

/** Waits until nothing new happens for `quietMs`: async invocations, events and teardown steps have settled. */
const settle = async (quietMs = 1_200) => {
  let last = '';
  let since = Date.now();
  for (;;) {
    const m = await api<MeterSnapshot>('/_local/meter');
    const sig = JSON.stringify([m.calls, Object.values(m.functions).map((f) => f.invocations)]);
    if (sig !== last) {
      last = sig;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
    await sleep(100);
  }
};

/** Teardown executions started since `sinceMs`, with their billed transitions once they have ended. */
const teardownTransitions = async (sinceMs: number, expect = 0) => {
  if (expect > 0)
    await until('the teardown to start', async () =>
      (await teardownArns(sinceMs)).length >= expect ? true : undefined,
    );
  let executions = 0;
  let transitions = 0;
  for (const arn of await teardownArns(sinceMs)) {
    const d = await until('the teardown execution to end', async () => {
      const out = await cloud.ctx.call('stepfunctions', 'DescribeExecution', { executionArn: arn });
      return out.status === 'RUNNING' ? undefined : out;
    });
    if (d.status !== 'SUCCEEDED') throw new Error(`teardown ${arn} ended ${String(d.status)}`);
    executions += 1;
    transitions += Number(d.stateTransitionCount ?? 0);
  }
  return { executions, transitions };
};

const teardownArns = async (sinceMs: number): Promise<string[]> => {
  const arns: string[] = [];
  const machines = (await cloud.ctx.call('stepfunctions', 'ListStateMachines', {})).stateMachines as Array<{
    stateMachineArn: string;
  }>;
  for (const m of machines) {
    const list = (await cloud.ctx.call('stepfunctions', 'ListExecutions', { stateMachineArn: m.stateMachineArn }))
      .executions as Array<{ executionArn: string; startDate: unknown }>;
    // startDate: epoch seconds (the API's timestamp), or an ISO string
    const ms = (d: unknown) => (typeof d === 'number' ? d * 1000 : new Date(String(d)).getTime());
    for (const e of list) if (ms(e.startDate) >= sinceMs) arns.push(e.executionArn);
  }
  return arns;
};

const gsiKeys = async (): Promise<Set<string>> => {
  const keys = new Set<string>();
  let start: unknown;
  do {
    const out = await cloud.dynamodb.call('Scan', { TableName: table, ...(start ? { ExclusiveStartKey: start } : {}) });
    for (const i of (out.Items ?? []) as Array<Record<string, { S?: string }>>)
      if (i.gsi1pk) keys.add(`${i.pk?.S}\u0000${i.sk?.S}`);
    start = out.LastEvaluatedKey;
  } while (start);
  return keys;
};

/** Slack takes part as deployed with a bot token: set one in the secret before any function caches it. */
const enableSlack = async () => {
  const SecretId = cloud.model.outputs.SecretsArn ?? 'stagecrew-Secrets';
  const current = JSON.parse(
    String((await cloud.ctx.call('secretsmanager', 'GetSecretValue', { SecretId })).SecretString ?? '{}'),
  );
  await cloud.ctx.call('secretsmanager', 'PutSecretValue', {
    SecretId,
    SecretString: JSON.stringify({ ...current, slackBotToken: 'xoxb-local', slackSigningSecret: 'local-signing' }),
  });
};

const runOnce = async (fail: boolean) => {
  const { pipelineExecutionId } = await cp('StartPipelineExecution', {
    name: PIPELINE,
    ...(fail ? { variables: [{ name: 'freezeStart', value: '2000-01-01' }] } : {}),
  });
  const id = pipelineExecutionId as string;
  if (!fail) {
    const seen = new Set((await outbox()).map((e) => e.id));
    await until('the approval to wait', async () => {
      const state = (await cp('GetPipelineState', { name: PIPELINE })) as {
        stageStates?: Array<{
          stageName?: string;
          latestExecution?: { pipelineExecutionId?: string; status?: string };
        }>;
      };
      const stage = state.stageStates?.find((s) => s.stageName === 'Approve')?.latestExecution;
      if (stage?.pipelineExecutionId === id && stage.status === 'InProgress') return true;
      const e = await execution(id);
      if (e?.status !== 'InProgress') throw new Error(`execution ${id} ended ${e?.status}: ${e?.statusSummary}`);
      return undefined;
    });
    const link = await until('the approval email', async () => {
      for (const e of await outbox())
        if (!seen.has(e.id) && e.channel === 'email') {
          const l = e.links.find((x) => x.includes('/approvals/'));
          if (l) return l;
        }
      return undefined;
    });
    await approveThroughLink(link);
  }
  const done = await until('the execution to end', async () => {
    const e = await execution(id);
    return e?.status === 'InProgress' ? undefined : e;
  });
  const expected = fail ? 'Failed' : 'Succeeded';
  if (done?.status !== expected) throw new Error(`execution ${id} ended ${done?.status}, expected ${expected}`);
  return id;
};

/** One execution in its own meter window; returns its counts. */
const measure = async (fail: boolean): Promise<MeasuredCounts> => {
  await settle(400);
  await fetch(`${cloud.url}/_local/meter`, { method: 'DELETE' });
  ddb = { wru: 0, rru: 0, writes: [] };
  logBytes = 0;
  logLines = 0;
  const outboxBefore = new Set((await outbox()).map((e) => e.id));
  const t0 = Date.now();
  await runOnce(fail);
  const sfn = await teardownTransitions(t0, fail ? 1 : 0);
  if (fail && sfn.executions !== 1) throw new Error(`expected one teardown, saw ${sfn.executions}`);
  await settle();
  const m = await api<MeterSnapshot>('/_local/meter');
  const sent = (await outbox()).filter((e) => !outboxBefore.has(e.id));
  const withGsi = await gsiKeys();
  const c = emptyCounts();
  c.executions = 1;
  for (const [name, u] of Object.entries(m.functions))
    c.lambda[name.replace(/^stagecrew-/, '')] = {
      invocations: u.invocations,
      errors: u.errors,
      billedMs: u.billedMs,
      memoryMb: u.memoryMb,
    };
  c.sfnTransitions = sfn.transitions;
  c.sfnExecutions = sfn.executions;
  const http = m.callsByOrigin.http;
  const n = (key: string, calls: Record<string, number> = http) => calls[key] ?? 0;
  c.dynamodb.wru = ddb.wru;
  c.dynamodb.rru = ddb.rru;
  c.dynamodb.gsiWru = ddb.writes
    .filter((w) => withGsi.has(`${w.pk}\u0000${w.sk}`))
    .reduce((sum, w) => sum + Math.max(1, w.units), 0);
  for (const [key, count] of Object.entries(http))
    if (key.startsWith('dynamodb:')) c.dynamodb.calls[key.slice('dynamodb:'.length)] = count;
  c.httpApiRequests = m.httpApiRequests;
  // Publishes to the approval topic: CodePipeline's (in-process here) and any a function sends.
  c.snsPublishes = n('sns:Publish', m.calls);
  c.emails = sent.filter((e) => e.channel === 'email').reduce((sum, e) => sum + Math.max(1, e.to.length), 0);
  c.slackCalls = sent.filter((e) => e.channel === 'slack').length;
  // PutEvents over HTTP come from the functions (Stagecrew's own events, one entry per call: adapters/eventbridge.ts);
  // in-process ones are the AWS services' own events (CodePipeline, CloudFormation, Step Functions): free.
  c.customEvents = n('eventbridge:PutEvents');
  c.serviceEventCalls = n('eventbridge:PutEvents', m.callsByOrigin['in-process']);
  c.secretsCalls = n('secretsmanager:GetSecretValue');
  c.ssmCalls = Object.entries(http)
    .filter(([k]) => k.startsWith('ssm:'))
    .reduce((s, [, v]) => s + v, 0);
  c.logBytes = logBytes;
  c.logLines = logLines;
  c.awsCalls = http;
  return c;
};

const add = (a: MeasuredCounts, b: MeasuredCounts): MeasuredCounts => {
  const out = structuredClone(a);
  out.executions += b.executions;
  for (const [name, u] of Object.entries(b.lambda)) {
    const t = out.lambda[name] ?? { invocations: 0, errors: 0, billedMs: 0, memoryMb: u.memoryMb };
    t.invocations += u.invocations;
    t.errors += u.errors;
    t.billedMs += u.billedMs;
    t.memoryMb = u.memoryMb;
    out.lambda[name] = t;
  }
  out.sfnTransitions += b.sfnTransitions;
  out.sfnExecutions += b.sfnExecutions;
  out.dynamodb.wru += b.dynamodb.wru;
  out.dynamodb.rru += b.dynamodb.rru;
  out.dynamodb.gsiWru += b.dynamodb.gsiWru;
  for (const [k, v] of Object.entries(b.dynamodb.calls)) out.dynamodb.calls[k] = (out.dynamodb.calls[k] ?? 0) + v;
  out.httpApiRequests += b.httpApiRequests;
  out.snsPublishes += b.snsPublishes;
  out.emails += b.emails;
  out.slackCalls += b.slackCalls;
  out.customEvents += b.customEvents;
  out.serviceEventCalls += b.serviceEventCalls;
  out.secretsCalls += b.secretsCalls;
  out.ssmCalls += b.ssmCalls;
  out.logBytes += b.logBytes;
  out.logLines += b.logLines;
  for (const [k, v] of Object.entries(b.awsCalls)) out.awsCalls[k] = (out.awsCalls[k] ?? 0) + v;
  return out;
};

let failedRun: unknown;
try {
  // Creating the pipeline runs it once (as on AWS); that run, not measured, warms the functions up, so the
  // measured windows hold few cold starts (as at steady traffic; the teardown task's first run is still cold).
  await enableSlack();
  await codepipeline.send(new CreatePipelineCommand({ pipeline } as never));
  const first = await until('the creation run to start', async () => {
    const l = await codepipeline.send(new ListPipelineExecutionsCommand({ pipelineName: PIPELINE }));
    return l.pipelineExecutionSummaries?.[0]?.pipelineExecutionId;
  });
  const seen = new Set<string>();
  const link = await until('the first approval email', async () => {
    const e = await execution(first);
    if (e?.status !== 'InProgress') throw new Error(`the creation run ended ${e?.status}: ${e?.statusSummary}`);
    for (const o of await outbox()) {
      if (seen.has(o.id)) continue;
      const l = o.channel === 'email' ? o.links.find((x) => x.includes('/approvals/')) : undefined;
      if (l) return l;
    }
    return undefined;
  });
  await approveThroughLink(link);
  await until('the creation run to end', async () =>
    (await execution(first))?.status === 'InProgress' ? undefined : true,
  );

  let succeeded = emptyCounts();
  let failed = emptyCounts();
  for (let i = 1; i <= RUNS; i++) {
    const fail = i % FAIL_EVERY === 0;
    const c = await measure(fail);
    if (fail) failed = add(failed, c);
    else succeeded = add(succeeded, c);
    realStderr(
      `cost-run: execution ${i}/${RUNS} ${fail ? 'failed + teardown' : 'succeeded'} ` +
        `(${((performance.now() - started) / 1000).toFixed(1)} s)\n`,
    );
  }
  const measurement: Measurement = {
    measuredAt: new Date().toISOString(),
    command: 'npx node bench/cost-run.ts',
    node: `${process.version} ${process.platform} ${process.arch}`,
    loadAverage: [load0, loadavg()[0] ?? 0],
    wallSeconds: (performance.now() - started) / 1000,
    pipeline:
      'Source (git) → Build (CodeBuild) → DeployTest (CloudFormation) → Test (Invoke register-test-stack, ' +
      'http-check, gate) → Approve (manual, Slack + 2 emails, page GET + decision POST) → Cleanup (delete test ' +
      'stack) → Prod (CloudFormation); failed runs: gate closed → teardown of the test stack',
    succeeded,
    failed,
  };
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(measurement, null, 2)}\n`);
  print(markdown(measurement));
  realStderr(`cost-run: counts written to ${OUT}\n`);
} catch (err) {
  failedRun = err;
} finally {
  await cloud.stop();
  await new Promise<void>((r) => app.close(() => r()));
  repo.cleanup();
  rmSync(root, { recursive: true, force: true });
  process.stdout.write = realStdout as typeof process.stdout.write;
  process.stderr.write = realStderr as typeof process.stderr.write;
}
if (failedRun) {
  console.error(failedRun);
  process.exit(1);
}
