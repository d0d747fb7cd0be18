/**
 * Invoke action handler latency: a no-op job (`{"task":"gate"}` with no windows: the gate is open, so the task
 * does nothing but decide) through the deployed handler's code path — middy with the Powertools logger, metrics
 * and tracer middlewares, event parsing, Powertools idempotency, the runner, the task registry and the report —
 * with in-memory adapters (idempotency store, CodePipeline reporter). Each iteration is a new job id, as in
 * production. A second series runs the same job through the runner alone, without middlewares and idempotency,
 * to show what they cost. Prints a Markdown section for docs/PERFORMANCE.md.
 */
import { performance } from 'node:perf_hooks';

// Quiet, local Powertools: logs and EMF metrics would go to stdout, which carries the Markdown.
process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
process.env.POWERTOOLS_TRACE_ENABLED = 'false';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_DEV = 'false';
process.env.STATE_TABLE_NAME ??= 'bench-state';
process.env.AWS_REGION ??= 'us-east-1';

const N = Number(process.env.BENCH_ITERATIONS ?? 5000);
const WARMUP = Math.min(500, Math.floor(N / 10));

const { IdempotencyConfig } = await import('@aws-lambda-powertools/idempotency');
const { makeInvokeActionHandler } = await import('../functions/invoke-action/handler.ts');
const { runJob } = await import('../functions/core/jobs/runner.ts');
const { parseJobEvent } = await import('../functions/core/jobs/schema.ts');
const { jobEvent, MemoryPersistenceLayer, world } = await import('../test/unit/jobs/fakes.ts');
const { logger, metrics } = await import('../functions/core/powertools.ts');
const { MetricUnit } = await import('@aws-lambda-powertools/metrics');
const { systemClock } = await import('../functions/core/ports.ts');

const w = world({ clock: systemClock, log: logger });
const persistenceStore = new MemoryPersistenceLayer();
const config = new IdempotencyConfig({
  eventKeyJmesPath: 'jobId',
  throwOnNoIdempotencyKey: true,
  expiresAfterSeconds: 3600,
});
const handler = makeInvokeActionHandler({
  ...w.deps,
  count: (metric) => metrics.addMetric(metric, MetricUnit.Count, 1),
  idempotency: { persistenceStore, config },
});

let request = 0;
const context = () => ({
  functionName: 'stagecrew-InvokeActionFunction',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:111111111111:function:stagecrew-InvokeActionFunction',
  memoryLimitInMB: '512',
  awsRequestId: `bench-${++request}`,
  logGroupName: '/aws/lambda/stagecrew-InvokeActionFunction',
  logStreamName: 'bench',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 110_000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
});

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

type Series = { label: string; once: () => Promise<unknown>; times: number[] };

/** Runs the series interleaved (A, B, A, B, …) so neither pays for the other's garbage or a warmer JIT. */
const measure = async (series: Series[]) => {
  for (let i = 0; i < WARMUP; i++) for (const s of series) await s.once();
  for (let i = 0; i < N; i++) {
    for (const s of series) {
      const t = performance.now();
      await s.once();
      s.times.push(performance.now() - t);
    }
  }
  return series.map(({ label, times }) => {
    times.sort((a, b) => a - b);
    const mean = times.reduce((sum, t) => sum + t, 0) / times.length;
    return { label, p50: quantile(times, 0.5), p99: quantile(times, 0.99), max: times.at(-1) ?? 0, mean };
  });
};

const [full, bare] = await measure([
  {
    label: 'handler (middy + Powertools + idempotency + runner + report)',
    once: () => handler(jobEvent({ task: 'gate' }), context() as never),
    times: [],
  },
  {
    label: 'runner only (parse + run + report)',
    once: async () => {
      const parsed = parseJobEvent(jobEvent({ task: 'gate' }));
      if (parsed.ok) await runJob(parsed.job, w.deps, 110_000);
    },
    times: [],
  },
]);
if (!full || !bare) throw new Error('no results');

const reports = w.reporter.reports.length;
if (reports !== 2 * (N + WARMUP) || w.reporter.calls.length !== reports) {
  throw new Error(`expected one report per job: ${w.reporter.calls.length} calls, ${reports} jobs reported`);
}
if (!w.reporter.reports.every((r) => r.kind === 'success')) throw new Error('a no-op job did not succeed');

const ms = (v: number) => (v < 1 ? v.toFixed(3) : v.toFixed(2));
const lines = [
  '## Invoke action handler latency',
  '',
  `\`bench/invoke-action.ts\`: a no-op job (\`{"task":"gate"}\`, no windows) per iteration, each with a new job id; ${N} iterations after ${WARMUP} warm-up; in-memory idempotency store and CodePipeline reporter, so the numbers are Stagecrew's own overhead (in AWS add the DynamoDB idempotency writes and the PutJobSuccessResult call, typically a few ms each). Node ${process.version}, ${process.platform} ${process.arch}.`,
  '',
  '| Path | p50 ms | p99 ms | max ms | mean ms |',
  '|---|---:|---:|---:|---:|',
  ...[full, bare].map((r) => `| ${r.label} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} | ${ms(r.mean)} |`),
  '',
  `Every job was reported exactly once (${reports} reports for ${reports} jobs).`,
];
console.log(lines.join('\n'));
