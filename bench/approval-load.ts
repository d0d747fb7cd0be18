/**
 * Approval pages and decisions under load: autocannon on loopback against the local cloud's HTTP API (API
 * Gateway route → ApprovalApiFunction in a worker → DynamoDB and CodePipeline over HTTP), side by side with a
 * bare node:http hello world. Prints a Markdown section and exits non-zero when an invariant breaks.
 *
 * Setup goes through the real path: N pipelines (Source → Manual approval wired to Stagecrew's approval topic →
 * a trivial deploy) are created on the local cloud, each starts an execution, and Stagecrew's approval-request
 * function emails every recipient a signed link. Only those links (read from `GET /_local/outbox`) are used.
 *
 *   phase 1  GET of the signed links (rendering never decides), fixed duration and connection count
 *   phase 2  decision POSTs exactly as the page's form submits them (hidden k/r/e/s plus the nonce n/t, comment,
 *            decision): per approval, two recipients race (one approves, one rejects), each with several freshly
 *            rendered forms, each form posted twice (a double submit). Requests for one approval are adjacent in
 *            the queue, so with C connections about C of them are in flight for the same approval at once.
 *   phase 3  a bare node:http hello world, same autocannon settings as phase 1, for the ratio
 *
 * Afterwards: one 200 per approval, exactly one `PutApprovalResult` per decided approval (`/_local/meter`), each
 * approval action Succeeded/Failed once as decided, each execution ends accordingly, no 5xx, no socket errors.
 *
 * The local cloud and the bare server each run in their own child process (this file, started with
 * APPROVAL_LOAD_ROLE=cloud|bare), so the load generator does not share an event loop with the server it measures,
 * and both servers are measured the same way.
 *
 *   node bench/approval-load.ts                   (30 approvals, 10 connections, 10 s of GETs, 3 forms × 2 posts)
 *   node bench/approval-load.ts --approvals 60 --connections 20 --seconds 15 --forms 4 --seed 7
 *   BENCH_APPROVALS=60 BENCH_CONNECTIONS=20 BENCH_SECONDS=15 BENCH_FORMS=4 BENCH_SEED=7 node bench/approval-load.ts
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CodePipelineClient,
  CreatePipelineCommand,
  GetPipelineExecutionCommand,
  GetPipelineStateCommand,
  ListActionExecutionsCommand,
  type StageDeclaration,
} from '@aws-sdk/client-codepipeline';
import autocannon from 'autocannon';
import { actionType, manualApprovalStage, s3SourceStage } from '../test/helpers/pipelines.ts';
import { seededRandom } from '../test/helpers/random.ts';

export type LoadOptions = {
  /** Pending approvals to create (one pipeline each). */
  approvals: number;
  connections: number;
  /** Duration of phase 1 and phase 3 in seconds. */
  seconds: number;
  /**
   * Send exactly this many requests in phases 1 and 3 instead of running for `seconds`. The test uses it: on a
   * loaded machine a one-second window can end before the first answer, and a count of zero proves nothing.
   */
  amount?: number;
  /** Freshly rendered forms per recipient per approval in phase 2. */
  forms: number;
  /** Times each form is posted (2 = a double submit). */
  posts: number;
  seed: number;
  log?: (line: string) => void;
};

export const DEFAULTS: LoadOptions = { approvals: 30, connections: 10, seconds: 10, forms: 3, posts: 2, seed: 1 };

export type PhaseStats = {
  name: string;
  requests: number;
  rps: number;
  p50: number;
  p975: number;
  p99: number;
  mean: number;
  /** Socket errors and timeouts. */
  socketErrors: number;
  byStatus: Record<string, number>;
  seconds: number;
};

export type Invariant = { name: string; ok: boolean; detail: string };

export type LoadResult = {
  options: LoadOptions;
  phases: PhaseStats[];
  decisions: { approved: number; rejected: number; winners: number; losers409: number; losers410: number };
  putApprovalResultCalls: number;
  approvalApi: { invocations: number; errors: number; meanMs: number } | undefined;
  setupSeconds: number;
  invariants: Invariant[];
  load: { before: number; after: number };
};

const RECIPIENTS = ['ana@example.com', 'bo@example.com'] as const;
const ROLE = process.env.APPROVAL_LOAD_ROLE;
const SELF = fileURLToPath(import.meta.url);
const READY = 'APPROVAL_LOAD_READY ';

// ---------------------------------------------------------------- child processes

type CloudReady = { url: string; topicArn: string; approvalApiFunction: string };

async function childCloud(): Promise<void> {
  const { startLocalCloud } = await import('../local/main.ts');
  const root = process.env.APPROVAL_LOAD_ROOT as string;
  const cloud = await startLocalCloud({
    port: 0,
    stateDir: join(root, 'state'),
    localConfigPath: join(root, 'stagecrew.local.json'),
    quiet: true,
    schedules: false,
  });
  const ready: CloudReady = {
    url: cloud.url,
    topicArn: cloud.model.outputs.ApprovalTopicArn as string,
    approvalApiFunction: cloud.model.outputs.ApprovalApiFunctionName as string,
  };
  if (cloud.problems.length > 0) process.stderr.write(`local cloud problems: ${cloud.problems.join('; ')}\n`);
  process.stdout.write(`${READY}${JSON.stringify(ready)}\n`);
  process.once('SIGTERM', () => {
    cloud.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

async function childBare(): Promise<void> {
  const bare = createServer((_req, res) => {
    // The same framing the local cloud uses (explicit content-length, no chunking).
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' });
    res.end('hello');
  });
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
  process.stdout.write(`${READY}${JSON.stringify({ url })}\n`);
  process.once('SIGTERM', () => {
    bare.closeAllConnections();
    bare.close(() => process.exit(0));
  });
}

type Child<T> = { ready: T; stop(): Promise<void> };

async function startChild<T>(role: 'cloud' | 'bare', env: Record<string, string>): Promise<Child<T>> {
  const child: ChildProcess = spawn(process.execPath, [SELF], {
    env: { ...process.env, ...env, APPROVAL_LOAD_ROLE: role },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(force);
    }
  };
  const ready = await new Promise<T>((resolveReady, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`${role} child did not start within 60 s`)), 60_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const line = buffered.split('\n').find((l) => l.startsWith(READY));
      if (line) {
        clearTimeout(timer);
        resolveReady(JSON.parse(line.slice(READY.length)) as T);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${role} child exited (${code}) before it was ready`));
    });
  });
  return { ready, stop };
}

// ---------------------------------------------------------------- helpers

const shuffle = <T>(xs: T[], random: () => number): T[] => {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
  return xs;
};

const unescapeHtml = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, everyMs = 250) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

type Form = { action: string; body: string; pipeline: string };

/** What a browser does with the page: read the form's action and hidden fields. */
function parseForm(page: string, link: string): Omit<Form, 'body'> & { fields: URLSearchParams } {
  const form = /<form method="post" action="([^"]+)">([\s\S]*?)<\/form>/.exec(page);
  if (!form) throw new Error(`no form on the page of ${link}`);
  const fields = new URLSearchParams();
  for (const m of (form[2] ?? '').matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
    fields.set(unescapeHtml(m[1] as string), unescapeHtml(m[2] as string));
  for (const name of ['k', 'r', 'e', 's', 'n', 't'])
    if (!fields.has(name)) throw new Error(`the form of ${link} has no ${name}`);
  const pipeline = /<th align="left">Pipeline<\/th><td>([^<]*)<\/td>/.exec(page)?.[1];
  if (!pipeline) throw new Error(`no pipeline on the page of ${link}`);
  return {
    action: new URL(unescapeHtml(form[1] as string), link).toString(),
    fields,
    pipeline: unescapeHtml(pipeline),
  };
}

const stats = (name: string, r: autocannon.Result): PhaseStats => {
  const byStatus: Record<string, number> = {};
  for (const [code, s] of Object.entries(r.statusCodeStats ?? {})) byStatus[code] = s.count ?? 0;
  return {
    name,
    requests: r.requests.total,
    rps: r.requests.total / Math.max(r.duration, 0.001),
    p50: r.latency.p50,
    p975: r.latency.p97_5,
    p99: r.latency.p99,
    mean: r.latency.average,
    socketErrors: r.errors + r.timeouts,
    byStatus,
    seconds: r.duration,
  };
};

// ---------------------------------------------------------------- the driver

export async function runApprovalLoad(partial: Partial<LoadOptions> = {}): Promise<LoadResult> {
  const options: LoadOptions = { ...DEFAULTS, ...partial };
  const { approvals: n, connections, seconds, amount, forms, posts, seed } = options;
  const log = options.log ?? (() => {});
  const random = seededRandom(seed);
  const invariants: Invariant[] = [];
  const check = (name: string, ok: boolean, detail: string) => invariants.push({ name, ok, detail });
  const load0 = loadavg()[0] ?? 0;

  const root = mkdtempSync(join(tmpdir(), 'stagecrew-bench-approvals-'));
  const src = join(root, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'index.html'), '<h1>approval load</h1>\n');
  writeFileSync(join(root, 'sources.json'), JSON.stringify({ 'load-src/app.zip': src }));
  writeFileSync(
    join(root, 'stagecrew.local.json'),
    JSON.stringify({
      parameters: {
        EmailSender: 'stagecrew@example.com',
        EmailRecipients: RECIPIENTS.join(','),
        ApprovalQuorum: 1,
        RejectNeedsReason: 'true',
      },
    }),
  );

  let cloud: Child<CloudReady> | undefined;
  let bare: Child<{ url: string }> | undefined;
  const phases: PhaseStats[] = [];
  try {
    const t0 = performance.now();
    cloud = await startChild<CloudReady>('cloud', {
      APPROVAL_LOAD_ROOT: root,
      STAGECREW_SOURCES: join(root, 'sources.json'),
      STAGECREW_DEPLOY_DIR: join(root, 'deploy'),
    });
    const { url, topicArn } = cloud.ready;
    const codepipeline = new CodePipelineClient({
      endpoint: url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    const meter = async () =>
      (await (await fetch(`${url}/_local/meter`)).json()) as {
        calls: Record<string, number>;
        functions: Record<string, { invocations: number; errors: number; durationMs: number }>;
      };

    // ---- setup: N pipelines, each waiting in its Manual approval, each approval emailed to both recipients
    const stages = (i: number) => [
      s3SourceStage('load-src', 'app.zip'),
      manualApprovalStage('Approve', { NotificationArn: topicArn, CustomData: `load test approval ${i}` }),
      {
        name: 'Release',
        actions: [
          {
            name: 'Release',
            actionTypeId: actionType('Deploy', 'S3'),
            configuration: { BucketName: `load-site-${i}`, Extract: 'true' },
            inputArtifacts: [{ name: 'SourceOutput' }],
          },
        ],
      },
    ];
    const names = Array.from({ length: n }, (_, i) => `load-${String(i + 1).padStart(3, '0')}`);
    for (const [i, name] of names.entries()) {
      await codepipeline.send(
        new CreatePipelineCommand({
          pipeline: {
            name,
            roleArn: 'arn:aws:iam::123456789012:role/load',
            artifactStore: { type: 'S3', location: 'load-artifacts' },
            pipelineType: 'V2',
            stages: stages(i + 1) as StageDeclaration[],
          },
        }),
      );
    }
    type Entry = { channel: string; to: string[]; links: string[] };
    const links = await waitFor(
      `${n * RECIPIENTS.length} approval emails in the outbox`,
      async () => {
        const outbox = (await (await fetch(`${url}/_local/outbox`)).json()) as Entry[];
        const byId = new Map<string, Map<string, string>>();
        for (const e of outbox) {
          if (e.channel !== 'email') continue;
          for (const link of e.links) {
            const id = /\/approvals\/([^/?#]+)\?/.exec(link)?.[1];
            const to = e.to[0];
            if (!id || !to) continue;
            const perRecipient = byId.get(id) ?? new Map<string, string>();
            if (!perRecipient.has(to)) perRecipient.set(to, link);
            byId.set(id, perRecipient);
          }
        }
        const complete = [...byId.values()].filter((m) => RECIPIENTS.every((r) => m.has(r)));
        return complete.length >= n ? byId : undefined;
      },
      60_000 + n * 2_000,
    );
    const ids = [...links.keys()];
    check('one approval per pipeline', ids.length === n, `${ids.length} approvals emailed for ${n} pipelines`);
    const setupSeconds = (performance.now() - t0) / 1000;
    log(`setup: ${n} approvals emailed in ${setupSeconds.toFixed(1)} s`);

    // ---- phase 1: GET the signed links (round robin over every link)
    const getPaths = ids.flatMap((id) => RECIPIENTS.map((r) => new URL(links.get(id)?.get(r) as string)));
    const origin = getPaths[0]?.origin ?? url;
    let nextGet = 0;
    const getRun = (duration: number) =>
      autocannon({
        url: origin,
        connections,
        ...(amount ? { amount } : { duration }),
        timeout: 30,
        requests: [
          {
            method: 'GET',
            setupRequest: (req) => {
              const u = getPaths[nextGet++ % getPaths.length] as URL;
              return { ...req, path: `${u.pathname}${u.search}` };
            },
          },
        ],
      });
    await getRun(1); // warm-up: workers, JIT
    const callsBefore = (await meter()).calls['codepipeline:PutApprovalResult'] ?? 0;
    phases.push(stats('approval page `GET /approvals/{id}?k&r&e&s`', await getRun(seconds)));
    const callsAfterGets = (await meter()).calls['codepipeline:PutApprovalResult'] ?? 0;
    check(
      'GETs decide nothing',
      callsBefore === 0 && callsAfterGets === 0,
      `PutApprovalResult calls before/after phase 1: ${callsBefore}/${callsAfterGets}`,
    );
    log(`phase 1 done: ${phases[0]?.requests} GETs`);

    // ---- phase 2: decision POSTs, built from freshly rendered pages
    type Item = { id: string; decision: 'approve' | 'reject'; form: Form };
    const groups: Item[][] = [];
    const pipelineOf = new Map<string, string>();
    for (const id of ids) {
      const group: Item[] = [];
      for (const [ri, recipient] of RECIPIENTS.entries()) {
        const link = links.get(id)?.get(recipient) as string;
        const decision = ri === 0 ? 'approve' : 'reject';
        for (let f = 0; f < forms; f++) {
          const res = await fetch(link);
          const page = await res.text();
          if (res.status !== 200) throw new Error(`GET ${link} answered ${res.status} before any decision`);
          const parsed = parseForm(page, link);
          pipelineOf.set(id, parsed.pipeline);
          parsed.fields.set('comment', decision === 'reject' ? `load test: ${recipient} rejects` : 'load test');
          parsed.fields.set('decision', decision);
          const form = { action: parsed.action, body: parsed.fields.toString(), pipeline: parsed.pipeline };
          for (let p = 0; p < posts; p++) group.push({ id, decision, form });
        }
      }
      groups.push(shuffle(group, random));
    }
    const queue = groups.flat();
    const outcomes: Array<{ status: number; body: string } | undefined> = new Array(queue.length);
    let nextPost = 0;
    const postRun = await autocannon({
      url: origin,
      connections: Math.min(connections, queue.length),
      amount: queue.length,
      timeout: 30,
      requests: [
        {
          method: 'POST',
          setupRequest: (req, context) => {
            const index = nextPost++;
            const item = queue[index % queue.length] as Item;
            (context as { index?: number }).index = index;
            return {
              ...req,
              path: new URL(item.form.action).pathname,
              headers: {
                ...req.headers,
                'content-type': 'application/x-www-form-urlencoded',
                origin,
              },
              body: item.form.body,
            };
          },
          onResponse: (status, body, context) => {
            const index = (context as { index?: number }).index;
            if (index !== undefined && index < queue.length) outcomes[index] = { status, body };
          },
        },
      ],
    });
    phases.push(stats('decision `POST /approvals/{id}/decision` (racing)', postRun));
    check('every decision POST was sent once', nextPost === queue.length, `${nextPost} sent of ${queue.length}`);
    log(`phase 2 done: ${postRun.requests.total} POSTs`);

    // ---- outcomes per approval
    let approved = 0;
    let rejected = 0;
    let winners = 0;
    let losers409 = 0;
    let losers410 = 0;
    const decidedAs = new Map<string, 'approve' | 'reject'>();
    const badWinners: string[] = [];
    const unexpected: string[] = [];
    for (const [i, item] of queue.entries()) {
      const o = outcomes[i];
      if (!o) {
        unexpected.push(`#${i} no response`);
        continue;
      }
      if (o.status === 200) {
        winners++;
        if (decidedAs.has(item.id)) badWinners.push(`${item.id} decided twice`);
        decidedAs.set(item.id, item.decision);
        const told =
          item.decision === 'approve' ? 'Approved: CodePipeline has been told' : 'Rejected: CodePipeline has been told';
        if (!o.body.includes(told)) badWinners.push(`${item.id}: 200 without "${told}"`);
      } else if (o.status === 409) losers409++;
      else if (o.status === 410) losers410++;
      else unexpected.push(`#${i} ${item.decision} → ${o.status}`);
    }
    for (const d of decidedAs.values()) d === 'approve' ? approved++ : rejected++;
    check(
      'exactly one winning POST per approval',
      decidedAs.size === n && winners === n && badWinners.length === 0,
      `${winners} winners for ${n} approvals${badWinners.length ? `; ${badWinners.slice(0, 5).join('; ')}` : ''}`,
    );
    check(
      'losers answered 409/410 only',
      unexpected.length === 0,
      unexpected.length === 0 ? `${losers409} × 409, ${losers410} × 410` : unexpected.slice(0, 10).join('; '),
    );

    // ---- CodePipeline saw one result per approval, and every execution moved on accordingly
    const m = await meter();
    const putCalls = m.calls['codepipeline:PutApprovalResult'] ?? 0;
    check(
      'one PutApprovalResult per decided approval',
      putCalls === decidedAs.size,
      `${putCalls} PutApprovalResult calls for ${decidedAs.size} decided approvals`,
    );
    const wrong: string[] = [];
    for (const [id, decision] of decidedAs) {
      const pipelineName = pipelineOf.get(id) as string;
      const state = await codepipeline.send(new GetPipelineStateCommand({ name: pipelineName }));
      const executionId = state.stageStates?.find((s) => s.stageName === 'Approve')?.latestExecution
        ?.pipelineExecutionId as string;
      const want = decision === 'approve' ? 'Succeeded' : 'Failed';
      const execution = await waitFor(
        `${pipelineName} to finish`,
        async () => {
          const e = await codepipeline.send(
            new GetPipelineExecutionCommand({ pipelineName, pipelineExecutionId: executionId }),
          );
          return e.pipelineExecution?.status !== 'InProgress' ? e.pipelineExecution : undefined;
        },
        30_000,
        100,
      );
      const actions = await codepipeline.send(
        new ListActionExecutionsCommand({ pipelineName, filter: { pipelineExecutionId: executionId } }),
      );
      const approvals = (actions.actionExecutionDetails ?? []).filter((a) => a.actionName === 'Approve');
      const release = (actions.actionExecutionDetails ?? []).filter((a) => a.actionName === 'Release');
      const ok =
        execution?.status === want &&
        approvals.length === 1 &&
        approvals[0]?.status === want &&
        release.length === (decision === 'approve' ? 1 : 0);
      if (!ok)
        wrong.push(
          `${pipelineName}: ${decision} → execution ${execution?.status}, approve actions ${approvals.map((a) => a.status).join(',') || 'none'}, release ${release.length}`,
        );
    }
    check(
      'each approval action ended once as decided and each execution moved on',
      wrong.length === 0,
      wrong.length === 0 ? `${approved} Succeeded, ${rejected} Failed` : wrong.slice(0, 5).join('; '),
    );

    // ---- phase 3: the bare server, same settings as phase 1
    bare = await startChild<{ url: string }>('bare', {});
    const bareRun = (duration: number) =>
      autocannon({ url: `${bare?.ready.url}/`, connections, ...(amount ? { amount } : { duration }), timeout: 30 });
    await bareRun(1);
    phases.push(stats('bare node:http hello world', await bareRun(seconds)));

    const serverErrors = phases.reduce(
      (sum, p) => sum + Object.entries(p.byStatus).reduce((s, [c, k]) => s + (Number(c) >= 500 ? k : 0), 0),
      0,
    );
    const socketErrors = phases.reduce((sum, p) => sum + p.socketErrors, 0);
    const getNon200 = Object.entries(phases[0]?.byStatus ?? {}).reduce((s, [c, k]) => s + (c === '200' ? 0 : k), 0);
    check('zero 5xx', serverErrors === 0, `${serverErrors} responses ≥ 500`);
    check('zero socket errors or timeouts', socketErrors === 0, `${socketErrors} socket errors/timeouts`);
    check('every page GET answered 200', getNon200 === 0, `${getNon200} non-200 GETs`);

    const fn = m.functions[cloud.ready.approvalApiFunction];
    return {
      options,
      phases,
      decisions: { approved, rejected, winners, losers409, losers410 },
      putApprovalResultCalls: putCalls,
      approvalApi: fn
        ? { invocations: fn.invocations, errors: fn.errors, meanMs: fn.durationMs / Math.max(1, fn.invocations) }
        : undefined,
      setupSeconds,
      invariants,
      load: { before: load0, after: loadavg()[0] ?? 0 },
    };
  } finally {
    await bare?.stop();
    await cloud?.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- report

export function markdown(r: LoadResult): string {
  const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
  const bareRps = r.phases.find((p) => p.name.startsWith('bare'))?.rps ?? 0;
  const statuses = (p: PhaseStats) =>
    Object.entries(p.byStatus)
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([c, k]) => `${c}: ${fmt(k)}`)
      .join(', ');
  const o = r.options;
  return [
    '## Approval pages and decisions under load',
    '',
    `\`bench/approval-load.ts\`: ${o.approvals} pending approvals created through the real path (pipelines with a Manual approval ` +
      `wired to the approval topic; links read from the outbox), autocannon on loopback with ${o.connections} connections. ` +
      `Page GETs for ${o.seconds} s over all ${o.approvals * RECIPIENTS.length} signed links; then ${fmt(r.phases[1]?.requests ?? 0)} decision POSTs ` +
      `built from the rendered forms (two recipients race approve against reject, ${o.forms} forms each, every form posted ${o.posts}×), ` +
      `queued approval by approval; then a bare node:http hello world for ${o.seconds} s. The local cloud and the bare server run in ` +
      `their own processes, the load generator in a third. Seed ${o.seed}. ${process.version}, ${process.platform} ${process.arch}; ` +
      `load average before ${r.load.before.toFixed(1)}, after ${r.load.after.toFixed(1)} (shared 2-core machine).`,
    '',
    '| Target | requests | req/s | p50 ms | p97.5 ms | p99 ms | vs bare (req/s) | status codes | socket errors |',
    '|---|---:|---:|---:|---:|---:|---:|---|---:|',
    ...r.phases.map(
      (p) =>
        `| ${p.name} | ${fmt(p.requests)} | ${fmt(p.rps)} | ${p.p50} | ${p.p975} | ${p.p99} | ${bareRps ? (p.rps / bareRps).toFixed(3) : '–'}× | ${statuses(p)} | ${p.socketErrors} |`,
    ),
    '',
    `Decisions: ${r.decisions.winners} winning POSTs (${r.decisions.approved} approved, ${r.decisions.rejected} rejected), ` +
      `${r.decisions.losers409} losers answered 409 and ${r.decisions.losers410} answered 410 (expected, not errors); ` +
      `\`PutApprovalResult\` calls: ${r.putApprovalResultCalls}. ` +
      (r.approvalApi
        ? `ApprovalApiFunction: ${fmt(r.approvalApi.invocations)} invocations, ${r.approvalApi.errors} errors, mean ${r.approvalApi.meanMs.toFixed(1)} ms. `
        : '') +
      `Setup (cloud start, ${o.approvals} pipelines, emails) took ${r.setupSeconds.toFixed(1)} s. ` +
      'Phase 2 req/s is the decision queue drained as fast as the connections allow.',
    '',
    '| Invariant | holds | detail |',
    '|---|---|---|',
    ...r.invariants.map((i) => `| ${i.name} | ${i.ok ? 'yes' : '**NO**'} | ${i.detail} |`),
    '',
  ].join('\n');
}

// ---------------------------------------------------------------- entry points

const argOptions = (): Partial<LoadOptions> => {
  const argv = process.argv.slice(2);
  const arg = (name: string, env: string): number | undefined => {
    const i = argv.indexOf(`--${name}`);
    const raw = i >= 0 ? argv[i + 1] : process.env[env];
    if (raw === undefined) return undefined;
    const v = Number(raw);
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} / ${env} must be a positive integer, got ${raw}`);
    return v;
  };
  const picked: Partial<LoadOptions> = {
    approvals: arg('approvals', 'BENCH_APPROVALS'),
    connections: arg('connections', 'BENCH_CONNECTIONS'),
    seconds: arg('seconds', 'BENCH_SECONDS'),
    forms: arg('forms', 'BENCH_FORMS'),
    posts: arg('posts', 'BENCH_POSTS'),
    seed: arg('seed', 'BENCH_SEED'),
  };
  return Object.fromEntries(Object.entries(picked).filter(([, v]) => v !== undefined));
};

if (ROLE === 'cloud') await childCloud();
else if (ROLE === 'bare') await childBare();
else if (process.argv[1] && resolve(process.argv[1]) === SELF) {
  const options = argOptions();
  const result = await runApprovalLoad({ ...options, log: (l) => process.stderr.write(`${l}\n`) });
  console.log(markdown(result));
  const broken = result.invariants.filter((i) => !i.ok);
  if (broken.length > 0) {
    console.error(`approval-load: ${broken.length} invariant(s) broken (seed ${result.options.seed})`);
    process.exit(1);
  }
}
