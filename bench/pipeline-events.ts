/**
 * Pipeline events throughput: CodePipeline state-change events processed per second by the pipeline-events use
 * case (schema parse → event-id claim → timeline merge and write → teardown trigger → routing, rate limit,
 * rendering and delivery) with in-memory adapters, so the number is Stagecrew's own cost per event, not the
 * network's.
 *
 * The workload is realistic: each pipeline execution emits pipeline, stage and action events (3 stages × 2
 * actions); a share of executions fail (failure notifications to Slack and email, teardown start). Scenarios:
 * in order; shuffled within each execution (out-of-order delivery); and with 10 % redeliveries of the same event id.
 */
import { performance } from 'node:perf_hooks';
import { parseSettings } from '../functions/core/settings.ts';
import { handleRaw, makeWorld } from '../test/unit/timeline/fakes.ts';

const EXECUTIONS = Number(process.env.BENCH_EXECUTIONS ?? 150);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const STAGES = ['Source', 'Build', 'Deploy'];
const ACTIONS = ['Main', 'Check'];

/** Deterministic PRNG (mulberry32) so every run sees the same workload. */
const rng = (seed: number) => () => {
  seed += 0x6d2b79f5;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

type Raw = Record<string, unknown>;

const event = (n: number, type: 'Pipeline' | 'Stage' | 'Action', second: number, detail: Raw): Raw => ({
  version: '0',
  id: `bench-${n}`,
  'detail-type': `CodePipeline ${type} Execution State Change`,
  source: 'aws.codepipeline',
  account: '123456789012',
  time: new Date(Date.UTC(2026, 0, 1, 0, 0, 0) + second * 1000).toISOString().replace('.000', ''),
  region: 'us-east-1',
  resources: ['arn:aws:codepipeline:us-east-1:123456789012:bench-pipeline'],
  detail: { ...detail, version: 1 },
});

/** All events of `EXECUTIONS` executions; every 5th execution fails in its Deploy stage. */
const workload = (): Raw[][] => {
  let n = 0;
  const runs: Raw[][] = [];
  for (let e = 0; e < EXECUTIONS; e++) {
    const pipeline = `bench-pipeline-${e % 10}`;
    const exec = `00000000-0000-4000-8000-${String(e).padStart(12, '0')}`;
    const base = { pipeline, 'execution-id': exec };
    const fails = e % 5 === 0;
    const out: Raw[] = [];
    let s = e * 600;
    out.push(event(n++, 'Pipeline', s, { ...base, state: 'STARTED' }));
    for (const stage of STAGES) {
      out.push(event(n++, 'Stage', ++s, { ...base, stage, state: 'STARTED' }));
      let stageFailed = false;
      for (const action of ACTIONS) {
        const type = { owner: 'AWS', category: 'Build', provider: 'CodeBuild', version: '1' };
        out.push(event(n++, 'Action', ++s, { ...base, stage, action, state: 'STARTED', type }));
        const failed = fails && stage === 'Deploy' && action === 'Main';
        stageFailed ||= failed;
        const result = failed
          ? {
              'external-execution-summary': 'Build failed',
              'error-code': 'JobFailed',
              'external-execution-url': 'https://example.com/b',
            }
          : { 'external-execution-summary': 'ok' };
        s += 30;
        out.push(
          event(n++, 'Action', s, {
            ...base,
            stage,
            action,
            state: failed ? 'FAILED' : 'SUCCEEDED',
            type,
            'execution-result': result,
          }),
        );
        if (failed) break;
      }
      out.push(event(n++, 'Stage', ++s, { ...base, stage, state: stageFailed ? 'FAILED' : 'SUCCEEDED' }));
      if (stageFailed) break;
    }
    out.push(event(n++, 'Pipeline', ++s, { ...base, state: fails ? 'FAILED' : 'SUCCEEDED' }));
    runs.push(out);
  }
  return runs;
};

const shuffle = <T>(items: T[], random: () => number): T[] => {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a;
};

const scenarios: Record<string, (runs: Raw[][]) => Raw[]> = {
  'in order': (runs) => runs.flat(),
  'out of order (shuffled per execution)': (runs) => {
    const random = rng(7);
    return runs.flatMap((r) => shuffle(r, random));
  },
  'with 10 % redeliveries': (runs) => {
    const random = rng(11);
    const all = runs.flat();
    const out: Raw[] = [];
    for (const e of all) {
      out.push(e);
      if (random() < 0.1) out.push(structuredClone(e));
    }
    return out;
  },
};

const settings = parseSettings({
  notifications: {
    emailSender: 'stagecrew@example.com',
    rules: [
      {
        pipeline: 'bench-*',
        states: ['FAILED'],
        scope: ['pipeline'],
        slackChannels: ['C-DEPLOYS'],
        emails: ['team@example.com'],
      },
      { pipeline: 'bench-pipeline-1', states: ['*'], scope: ['pipeline', 'stage'], slackChannels: ['C-ONE'] },
    ],
    rateLimit: { perPipeline: 1000, windowSeconds: 600 },
  },
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

const runs = workload();
// Warm the JIT on the whole workload first, so the first scenario is not measured cold.
for (let i = 0; i < 3; i++) {
  const w = makeWorld(settings);
  for (const e of runs.flat()) await handleRaw(e, w.deps);
}
const rows: string[] = [];
let checked = false;
for (const [name, build] of Object.entries(scenarios)) {
  const events = build(runs);
  const rates: number[] = [];
  const perEventUs: number[] = [];
  let messages = 0;
  for (let r = 0; r < RUNS + 1; r++) {
    const w = makeWorld(settings);
    const t0 = performance.now();
    for (const e of events) await handleRaw(e, w.deps);
    const ms = performance.now() - t0;
    if (r === 0) {
      // Warm-up run; also checks the workload did what it claims.
      if (!checked) {
        const failed = runs.filter((_, i) => i % 5 === 0).length;
        if (w.starter.started.length !== failed)
          throw new Error(`expected ${failed} teardowns, got ${w.starter.started.length}`);
        checked = true;
      }
      continue;
    }
    messages = w.slack.posted.length + w.mailer.sent.length;
    rates.push(events.length / (ms / 1000));
    perEventUs.push((ms * 1000) / events.length);
  }
  rows.push(
    `| ${name} | ${events.length} | ${Math.round(median(rates)).toLocaleString('en-US')} | ${median(perEventUs).toFixed(1)} | ${messages} |`,
  );
}

console.log(`## Pipeline events throughput

\`bench/pipeline-events.ts\`: ${EXECUTIONS} pipeline executions (10 pipelines, 3 stages × 2 actions, every 5th
execution failing in Deploy), run through \`handlePipelineEvent\` with in-memory adapters (timeline, event ledger,
rate limiter, Slack, email, CodePipeline lookups, teardown starter). Median of ${RUNS} runs after a warm-up; each
event is parsed, claimed, merged into the timeline, routed, and — when routed — rendered and delivered.

| Scenario | Events | Events/s | µs/event | Messages sent |
|---|---:|---:|---:|---:|
${rows.join('\n')}

What this leaves out: DynamoDB round trips (claim, read, conditional write, complete; plus the rate-limit
counter and one delivery mark per message) and Slack/SES/CodePipeline latency, each milliseconds in AWS, so the
handler's own CPU time (tens of microseconds) is not what limits an invocation. Out-of-order delivery sends fewer
messages (a stale STARTED arriving after its stage finished is recorded but not announced), and redeliveries stop
at the claim: both skip work that the in-order scenario does.`);
