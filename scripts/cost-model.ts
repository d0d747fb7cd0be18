/**
 * Cost per 1,000 pipeline executions handled by Stagecrew, from counts measured in a local end-to-end run
 * (bench/cost-run.ts writes them) and AWS's public on-demand list prices for us-east-1. Prints a Markdown section
 * for docs/PERFORMANCE.md. The counts and the price table are kept apart: the run measures, this file prices.
 *
 *   npx node bench/cost-run.ts                                            # measure, write the counts, print
 *   npx node scripts/cost-model.ts                                        # price bench/results/cost-counts.json
 *   npx node scripts/cost-model.ts --counts my.json --failure-rate 0.5    # half the executions fail
 *
 * Free tiers are excluded: every unit is priced at the first paid tier. CodePipeline's own charges, CodeBuild,
 * data transfer, X-Ray and secret storage are not Stagecrew's per-execution cost and are left out.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

export type PriceKey =
  | 'lambdaRequest'
  | 'lambdaGbSecond'
  | 'sfnTransition'
  | 'dynamoWru'
  | 'dynamoRru'
  | 'httpApiRequest'
  | 'snsPublish'
  | 'sesEmail'
  | 'eventBridgeCustomEvent'
  | 'secretsManagerCall'
  | 'logsIngestedGb';

export type Price = {
  /** USD per one unit (one request, one GB-second, one email …). */
  usd: number;
  /** How the public page states it. */
  listed: string;
  /** The AWS pricing page it comes from. */
  source: string;
  /** Date the price was last compared with a copy of that page, and whether the figure was seen there. */
  checked: string;
  verified: 'AWS page' | 'secondary source' | 'unverified';
};

/** us-east-1, on-demand, first paid tier. */
export const PRICE_TABLE: Readonly<Record<PriceKey, Price>> = Object.freeze({
  lambdaRequest: {
    usd: 0.2 / 1e6,
    listed: '$0.20 per 1M requests',
    source: 'AWS Lambda Pricing',
    checked: '2026-11-23',
    verified: 'secondary source',
  },
  lambdaGbSecond: {
    usd: 0.0000133334,
    listed: '$0.0000133334 per GB-second (Arm, first 7.5 billion GB-s/month)',
    source: 'AWS Lambda Pricing',
    checked: '2026-11-23',
    verified: 'secondary source',
  },
  sfnTransition: {
    usd: 0.025 / 1000,
    listed: '$0.025 per 1,000 state transitions (Standard)',
    source: 'AWS Step Functions Pricing',
    checked: '2026-11-23',
    verified: 'AWS page',
  },
  dynamoWru: {
    usd: 0.625 / 1e6,
    listed: '$0.625 per 1M write request units (on-demand, Standard table class)',
    source: 'Amazon DynamoDB Pricing for On-Demand Capacity',
    checked: '2026-11-23',
    verified: 'secondary source',
  },
  dynamoRru: {
    usd: 0.125 / 1e6,
    listed: '$0.125 per 1M read request units (on-demand, Standard table class)',
    source: 'Amazon DynamoDB Pricing for On-Demand Capacity',
    checked: '2026-11-23',
    verified: 'secondary source',
  },
  httpApiRequest: {
    usd: 1.0 / 1e6,
    listed: '$1.00 per 1M requests (HTTP API, first 300M/month, 512 KB each)',
    source: 'Amazon API Gateway Pricing',
    checked: '2026-11-23',
    verified: 'secondary source',
  },
  snsPublish: {
    usd: 0.5 / 1e6,
    listed: '$0.50 per 1M publishes (standard topic; deliveries to Lambda free)',
    source: 'Amazon SNS Pricing',
    checked: '2026-11-23',
    verified: 'secondary source',
  },
  sesEmail: {
    usd: 0.1 / 1000,
    listed: '$0.10 per 1,000 emails (each recipient is one email)',
    source: 'Amazon SES Pricing',
    checked: '2026-11-23',
    verified: 'secondary source',
  },
  eventBridgeCustomEvent: {
    usd: 1.0 / 1e6,
    listed: '$1.00 per 1M custom events published (64 KB chunks; AWS service events free)',
    source: 'Amazon EventBridge Pricing',
    checked: '2026-11-23',
    verified: 'secondary source',
  },
  secretsManagerCall: {
    usd: 0.05 / 10_000,
    listed: '$0.05 per 10,000 API calls',
    source: 'AWS Secrets Manager Pricing',
    checked: '2026-11-23',
    verified: 'unverified',
  },
  logsIngestedGb: {
    usd: 0.5,
    listed: '$0.50 per GB ingested (Standard log class)',
    source: 'Amazon CloudWatch Pricing (Logs)',
    checked: '2026-11-23',
    verified: 'secondary source',
  },
});

export type Prices = Record<PriceKey, number>;
export const PRICES: Readonly<Prices> = Object.freeze(
  Object.fromEntries(Object.entries(PRICE_TABLE).map(([k, p]) => [k, p.usd])) as Prices,
);

export type Assumptions = { platformLogBytesPerInvocation: number; logEventOverheadBytes: number };

/** Assumptions for what the local run cannot see. */
export const ASSUMPTIONS: Readonly<Assumptions> = Object.freeze({
  /** Lambda's own START, END and REPORT lines per invocation (CloudWatch Logs ingestion). */
  platformLogBytesPerInvocation: 330,
  /** CloudWatch Logs counts each event's message plus 26 bytes. */
  logEventOverheadBytes: 26,
});

export type FunctionCounts = { invocations: number; errors: number; billedMs: number; memoryMb: number };

/** Counts summed over `executions` pipeline executions (bench/cost-run.ts). */
export type MeasuredCounts = {
  executions: number;
  /** By function logical id, e.g. `PipelineEventsFunction`. */
  lambda: Record<string, FunctionCounts>;
  sfnTransitions: number;
  sfnExecutions: number;
  dynamodb: {
    /** Write request units of the table (item size rounded up to 1 KB per write, conditional failures included). */
    wru: number;
    /** Read request units (4 KB per unit, eventually consistent reads at half). */
    rru: number;
    /** Extra write units for the gsi1 index (ALL projection): writes to items that carry its keys. */
    gsiWru: number;
    calls: Record<string, number>;
  };
  httpApiRequests: number;
  snsPublishes: number;
  /** Emails by recipient. */
  emails: number;
  /** Slack messages posted (an update of a message is not counted again). */
  slackCalls: number;
  /** Stagecrew's own events (PutEvents entries from the functions). */
  customEvents: number;
  /** PutEvents of the AWS services' own events (CodePipeline, CloudFormation, Step Functions): free. */
  serviceEventCalls: number;
  secretsCalls: number;
  ssmCalls: number;
  /** Bytes the functions logged (messages with their newline) and the number of lines. */
  logBytes: number;
  logLines: number;
  /** Every AWS call the functions made, `service:Operation` → count. */
  awsCalls: Record<string, number>;
};

export type Measurement = {
  measuredAt: string;
  command: string;
  node: string;
  loadAverage: [number, number];
  wallSeconds: number;
  pipeline: string;
  succeeded: MeasuredCounts;
  failed: MeasuredCounts;
};

export const emptyCounts = (): MeasuredCounts => ({
  executions: 0,
  lambda: {},
  sfnTransitions: 0,
  sfnExecutions: 0,
  dynamodb: { wru: 0, rru: 0, gsiWru: 0, calls: {} },
  httpApiRequests: 0,
  snsPublishes: 0,
  emails: 0,
  slackCalls: 0,
  customEvents: 0,
  serviceEventCalls: 0,
  secretsCalls: 0,
  ssmCalls: 0,
  logBytes: 0,
  logLines: 0,
  awsCalls: {},
});

const scaleRecord = (r: Record<string, number>, k: number, into: Record<string, number>) => {
  for (const [key, v] of Object.entries(r)) into[key] = (into[key] ?? 0) + v * k;
};

/** `a·x + b·y` of two count sets (used to average per execution and to mix succeeded and failed runs). */
const combine = (x: MeasuredCounts, a: number, y: MeasuredCounts, b: number): MeasuredCounts => {
  const out = emptyCounts();
  for (const [c, k] of [
    [x, a],
    [y, b],
  ] as const) {
    if (k === 0) continue;
    out.executions += c.executions * k;
    for (const [name, f] of Object.entries(c.lambda)) {
      const t = out.lambda[name] ?? { invocations: 0, errors: 0, billedMs: 0, memoryMb: f.memoryMb };
      t.invocations += f.invocations * k;
      t.errors += f.errors * k;
      t.billedMs += f.billedMs * k;
      t.memoryMb = f.memoryMb;
      out.lambda[name] = t;
    }
    out.sfnTransitions += c.sfnTransitions * k;
    out.sfnExecutions += c.sfnExecutions * k;
    out.dynamodb.wru += c.dynamodb.wru * k;
    out.dynamodb.rru += c.dynamodb.rru * k;
    out.dynamodb.gsiWru += c.dynamodb.gsiWru * k;
    scaleRecord(c.dynamodb.calls, k, out.dynamodb.calls);
    out.httpApiRequests += c.httpApiRequests * k;
    out.snsPublishes += c.snsPublishes * k;
    out.emails += c.emails * k;
    out.slackCalls += c.slackCalls * k;
    out.customEvents += c.customEvents * k;
    out.serviceEventCalls += c.serviceEventCalls * k;
    out.secretsCalls += c.secretsCalls * k;
    out.ssmCalls += c.ssmCalls * k;
    out.logBytes += c.logBytes * k;
    out.logLines += c.logLines * k;
    scaleRecord(c.awsCalls, k, out.awsCalls);
  }
  return out;
};

/** The measured share of failing executions. */
export const measuredFailureRate = (m: Measurement): number =>
  m.failed.executions / (m.failed.executions + m.succeeded.executions);

/**
 * Counts for one average execution: the mean of the succeeded runs and the mean of the failed runs, mixed at
 * `failureRate` (default: the share measured).
 */
export const perExecution = (m: Measurement, failureRate = measuredFailureRate(m)): MeasuredCounts => {
  if (!(failureRate >= 0 && failureRate <= 1)) throw new RangeError('failureRate must be from 0 to 1');
  if (failureRate > 0 && m.failed.executions === 0) throw new RangeError('no failed execution was measured');
  if (failureRate < 1 && m.succeeded.executions === 0) throw new RangeError('no succeeded execution was measured');
  const s = m.succeeded.executions ? (1 - failureRate) / m.succeeded.executions : 0;
  const f = m.failed.executions ? failureRate / m.failed.executions : 0;
  return combine(m.succeeded, s, m.failed, f);
};

export type CostLine = { item: string; perExecution: string; usd: number };

/** USD per 1,000 executions, by line, for the counts of one execution. Pure: prices and assumptions are inputs. */
export const costPerThousand = (
  c: MeasuredCounts,
  prices: Prices = PRICES,
  assumptions: Readonly<Assumptions> = ASSUMPTIONS,
): { lines: CostLine[]; total: number } => {
  const lines: CostLine[] = [];
  const k = 1000;
  for (const [name, f] of Object.entries(c.lambda).sort(([a], [b]) => a.localeCompare(b))) {
    const gbSeconds = (f.billedMs / 1000) * (f.memoryMb / 1024);
    const perCall = f.invocations > 0 ? f.billedMs / f.invocations : 0;
    lines.push({
      item: `Lambda ${name} (${f.memoryMb} MB, ${perCall.toFixed(0)} ms billed per invocation)`,
      perExecution: `${f.invocations.toFixed(2)} invocations`,
      usd: k * (f.invocations * prices.lambdaRequest + gbSeconds * prices.lambdaGbSecond),
    });
  }
  /** A line priced per unit: count per execution × unit price, for 1,000 executions. */
  const perUnit = (item: string, count: number, price: number, digits = 2) =>
    lines.push({ item, perExecution: count.toFixed(digits), usd: k * count * price });
  perUnit('Step Functions state transitions (Standard)', c.sfnTransitions, prices.sfnTransition);
  lines.push({
    item: 'DynamoDB write request units (table + gsi1)',
    perExecution: `${(c.dynamodb.wru + c.dynamodb.gsiWru).toFixed(1)} (${c.dynamodb.wru.toFixed(1)} + ${c.dynamodb.gsiWru.toFixed(1)})`,
    usd: k * (c.dynamodb.wru + c.dynamodb.gsiWru) * prices.dynamoWru,
  });
  perUnit('DynamoDB read request units', c.dynamodb.rru, prices.dynamoRru, 1);
  perUnit('API Gateway HTTP API requests', c.httpApiRequests, prices.httpApiRequest);
  perUnit('SNS publishes (approval topic)', c.snsPublishes, prices.snsPublish);
  perUnit('SES emails (per recipient)', c.emails, prices.sesEmail);
  perUnit('EventBridge custom events (AWS service events are free)', c.customEvents, prices.eventBridgeCustomEvent);
  perUnit('Secrets Manager API calls', c.secretsCalls, prices.secretsManagerCall);
  const invocations = Object.values(c.lambda).reduce((s, f) => s + f.invocations, 0);
  const ingested =
    c.logBytes +
    c.logLines * assumptions.logEventOverheadBytes +
    invocations * (assumptions.platformLogBytesPerInvocation + 3 * assumptions.logEventOverheadBytes);
  lines.push({
    item: 'CloudWatch Logs ingestion (function logs + Lambda platform lines)',
    perExecution: `${(ingested / 1024).toFixed(1)} KB`,
    usd: (k * ingested * prices.logsIngestedGb) / 1024 ** 3,
  });
  const total = lines.reduce((sum, l) => sum + l.usd, 0);
  return { lines, total };
};

const usd = (n: number) => (n < 0.01 ? `$${n.toFixed(4)}` : `$${n.toFixed(3)}`);
const pct = (part: number, total: number) => (total > 0 ? `${((100 * part) / total).toFixed(0)} %` : '');

/** The PERFORMANCE.md section: the cost table at the measured failure share, the per-kind counts, the prices. */
export const markdown = (m: Measurement, failureRate = measuredFailureRate(m)): string => {
  const mix = perExecution(m, failureRate);
  const { lines, total } = costPerThousand(mix);
  const ok = perExecution(m, 0);
  const bad = perExecution(m, 1);
  const okTotal = costPerThousand(ok).total;
  const badTotal = costPerThousand(bad).total;
  const count = (c: MeasuredCounts, f: (c: MeasuredCounts) => number) => f(c).toFixed(1);
  const rows: Array<[string, (c: MeasuredCounts) => number]> = [
    ['Lambda invocations', (c) => Object.values(c.lambda).reduce((s, f) => s + f.invocations, 0)],
    ['Lambda billed ms', (c) => Object.values(c.lambda).reduce((s, f) => s + f.billedMs, 0)],
    ['Step Functions transitions', (c) => c.sfnTransitions],
    ['DynamoDB requests', (c) => Object.values(c.dynamodb.calls).reduce((s, n) => s + n, 0)],
    ['DynamoDB WRU (table + gsi1)', (c) => c.dynamodb.wru + c.dynamodb.gsiWru],
    ['DynamoDB RRU', (c) => c.dynamodb.rru],
    ['HTTP API requests', (c) => c.httpApiRequests],
    ['SNS publishes', (c) => c.snsPublishes],
    ['SES emails', (c) => c.emails],
    ['Slack messages (free)', (c) => c.slackCalls],
    ['EventBridge custom events', (c) => c.customEvents],
    ['AWS service event PutEvents (free)', (c) => c.serviceEventCalls],
    ['Function log KB', (c) => c.logBytes / 1024],
  ];
  const unverified = Object.values(PRICE_TABLE).filter((p) => p.verified !== 'AWS page');
  return [
    '## Cost per 1,000 pipeline executions',
    '',
    `Measured, then priced: \`${m.command}\` runs ${m.succeeded.executions + m.failed.executions} executions of one`,
    `pipeline on the local cloud (${m.measuredAt.slice(0, 10)}, ${m.node}, ${m.wallSeconds.toFixed(0)} s; load average`,
    `${m.loadAverage[0].toFixed(1)} → ${m.loadAverage[1].toFixed(1)}) and writes the counts to`,
    '`bench/results/cost-counts.json`; `npx node scripts/cost-model.ts [--failure-rate r]` prices them. Pipeline:',
    `${m.pipeline}. Each execution has its own \`/_local/meter\` window, closed once everything it caused has settled.`,
    '',
    `${m.succeeded.executions} succeeded and ${m.failed.executions} failed executions; the table mixes them at ` +
      `${(failureRate * 100).toFixed(0)} % failing. Per succeeded execution ${usd(okTotal)} per 1,000, per failed ` +
      `execution ${usd(badTotal)} per 1,000. Free tiers excluded.`,
    '',
    '| Item | Per execution | USD per 1,000 executions | Share |',
    '|---|---:|---:|---:|',
    ...lines.map((l) => `| ${l.item} | ${l.perExecution} | ${usd(l.usd)} | ${pct(l.usd, total)} |`),
    `| **Total** | | **${usd(total)}** | |`,
    '',
    'Counts per execution, as measured:',
    '',
    '| Count | Succeeded | Failed + teardown |',
    '|---|---:|---:|',
    ...rows.map(([label, f]) => `| ${label} | ${count(ok, f)} | ${count(bad, f)} |`),
    '',
    'Assumptions:',
    '- Lambda billed duration is the local wall time of each invocation rounded up to 1 ms (Lambda bills the init',
    '  phase too; two warm-up executions ran before measuring, so few cold starts are in the windows). The local',
    '  calls to AWS APIs are loopback calls: on AWS each is a few ms more, so durations are a lower bound.',
    "- Most of InvokeActionFunction's billed time is `register-test-stack` sleeping its `pollSeconds` (default 10 s)",
    '  inside the invocation while CloudFormation applies the tags; http-check and gate take well under a second together.',
    '- DynamoDB units are what dynalite reports with `ReturnConsumedCapacity: TOTAL` for every request the functions',
    '  sent (item size up to 1 KB per write unit, 4 KB per read unit, eventually consistent reads at half), and a',
    '  failed conditional write at 1 unit; writes to items carrying the `gsi1` keys (ALL projection) count once',
    '  more for the index. No transactions are used.',
    '- EventBridge: PutEvents from the functions carry one entry each (`functions/core/adapters/eventbridge.ts`);',
    '  CodePipeline, CloudFormation and Step Functions events on the default bus are free. SNS: the approval',
    "  topic's publishes (by CodePipeline); deliveries to Lambda are free. SES bills each recipient.",
    `- CloudWatch Logs: the bytes the functions logged at the template's log level, plus ${ASSUMPTIONS.logEventOverheadBytes}`,
    `  bytes per event and ${ASSUMPTIONS.platformLogBytesPerInvocation} bytes of START/END/REPORT lines per invocation.`,
    '- Teardown: Wait states ran without waiting and stacks deleted in milliseconds; a transition is counted per',
    '  state entered, whatever the wait, but a slow real deletion that falls back to polling adds transitions.',
    '- Not included: CodePipeline, CodeBuild and CloudFormation charges (the pipeline, not Stagecrew), data transfer,',
    '  X-Ray, secret storage ($0.40/secret/month), the scheduled reminders (every 5 minutes) and sweeper (hourly),',
    '  which cost the same whatever the traffic.',
    '',
    'Prices (us-east-1, on-demand, first paid tier):',
    '',
    '| Price | Source page | Checked |',
    '|---|---|---|',
    ...Object.values(PRICE_TABLE).map((p) => `| ${p.listed} | ${p.source} | ${p.checked}, ${p.verified} |`),
    '',
    unverified.length > 0
      ? `${unverified.length} of ${Object.keys(PRICE_TABLE).length} prices were not read on the AWS page itself ` +
        '(a secondary source, or not at all): check them on the pricing pages before quoting a figure.'
      : 'Every price was read on its AWS pricing page.',
    '',
  ].join('\n');
};

const main = () => {
  const { values } = parseArgs({
    options: { counts: { type: 'string' }, 'failure-rate': { type: 'string' } },
  });
  const file = values.counts ?? 'bench/results/cost-counts.json';
  let m: Measurement;
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as Measurement;
  } catch (err) {
    throw new Error(`cannot read the counts in ${file} (run \`npx node bench/cost-run.ts\` first): ${err}`);
  }
  const raw = values['failure-rate'];
  const rate = raw === undefined ? undefined : Number(raw);
  if (rate !== undefined && !(rate >= 0 && rate <= 1)) throw new Error('--failure-rate must be a number from 0 to 1');
  process.stdout.write(markdown(m, rate));
};

if (import.meta.url === `file://${process.argv[1]}`) main();
