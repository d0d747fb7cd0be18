/**
 * Cost per 1,000 pipeline executions handled by Stagecrew, from per-execution counts derived from the code paths
 * and AWS's public on-demand list prices for us-east-1. Prints a Markdown section for docs/PERFORMANCE.md.
 *
 *   npx node scripts/cost-model.ts                      # the reference scenario
 *   npx node scripts/cost-model.ts --failure-rate 0.5   # half the executions fail and tear down a stack
 *
 * The counts are a model, not a measurement of a deployed stack: each line names the code path it comes from.
 * CodePipeline's own charges, CloudWatch Logs and data transfer are not included.
 */
import { parseArgs } from 'node:util';

/** us-east-1 list prices (USD), as published on the AWS pricing pages; looked up 2026-11-23. */
export const PRICES = Object.freeze({
  lambdaRequest: 0.2 / 1e6,
  /** Arm (Graviton), first pricing tier; every Stagecrew function runs on arm64 (template Globals). */
  lambdaGbSecond: 0.0000133334,
  sfnTransition: 0.025 / 1000,
  /** DynamoDB on-demand. */
  dynamoWru: 0.625 / 1e6,
  dynamoRru: 0.125 / 1e6,
  httpApiRequest: 1.0 / 1e6,
  snsPublish: 0.5 / 1e6,
  sesEmail: 0.1 / 1000,
  /** Custom events to a bus; AWS service events (CodePipeline, CloudFormation) on the default bus are free. */
  eventBridgeCustomEvent: 1.0 / 1e6,
  secretsManagerCall: 0.05 / 10_000,
});

/** The reference pipeline: 3 stages × 2 actions, one manual approval and one Invoke action per execution. */
export type Scenario = {
  stages: number;
  actionsPerStage: number;
  /** Share of executions that fail and tear down one registered test stack. */
  failureRate: number;
  /** Approval recipients: emails sent per approval (plus one Slack post, free). */
  approvalEmails: number;
  /** Page GETs per approval before the POST (the recipient opening the link; scanners add more). */
  approvalPageViews: number;
  /** Invoke action continuations (e.g. an http-check that polls) per Invoke action. */
  invokeContinuations: number;
  /** Share of invocations that are cold starts (init duration is billed since 2025). */
  coldStartShare: number;
};

export const REFERENCE: Scenario = {
  stages: 3,
  actionsPerStage: 2,
  failureRate: 0.2,
  approvalEmails: 2,
  approvalPageViews: 2,
  invokeContinuations: 1,
  coldStartShare: 0.05,
};

/** Memory (MB) per function from template.yaml, and assumed warm billed duration (ms) per invocation. */
const FUNCTIONS = {
  PipelineEventsFunction: { memoryMb: 512, warmMs: 60, initMs: 240 },
  ApprovalRequestFunction: { memoryMb: 512, warmMs: 150, initMs: 315 },
  ApprovalApiFunction: { memoryMb: 512, warmMs: 80, initMs: 255 },
  InvokeActionFunction: { memoryMb: 512, warmMs: 60, initMs: 290 },
  TeardownTaskFunction: { memoryMb: 512, warmMs: 120, initMs: 455 },
  StackEventsFunction: { memoryMb: 256, warmMs: 40, initMs: 150 },
} as const;
type FunctionName = keyof typeof FUNCTIONS;

type Counts = {
  invocations: Record<FunctionName, number>;
  sfnTransitions: number;
  wru: number;
  rru: number;
  httpApi: number;
  snsPublishes: number;
  emails: number;
  customEvents: number;
  secretsCalls: number;
};

/** Per pipeline execution. Each term names the code path it comes from. */
export const countsPerExecution = (s: Scenario): Counts => {
  const actions = s.stages * s.actionsPerStage;
  // CodePipeline emits STARTED + a final state for the execution, each stage and each action
  // (bench/pipeline-events.ts: 2940 events for 150 executions of this shape = 19.6).
  const stateEvents = 2 * (1 + s.stages + actions);
  // handlePipelineEvent: claim (1 conditional write), timeline get (1 strongly consistent read) and revision-checked
  // put (1 write, items < 1 KB), complete (1 write). Routed notifications add a rate-limit counter write.
  const eventWrites = 3 * stateEvents;
  const eventReads = 1 * stateEvents;
  const notificationWrites = 1 + s.failureRate; // one routed notification per run, a second on failure
  // Approval: SNS publish by CodePipeline → approval-request (create record conditionally, claim announce, Slack post,
  // emails, record the posts); EventBridge action STARTED/ended events → approval-request (lifecycle sync).
  const approvalRequestInvocations = 1 + 2;
  const approvalWrites = 4 + 2; // create, announce claim, slack/email bookkeeping ×2; lifecycle sync updates
  const approvalReads = 2 + 2;
  // Approval API: page views (1 read each), then one POST: nonce + vote + PENDING→DECIDING + final state + audit.
  const apiInvocations = s.approvalPageViews + 1;
  const decisionWrites = 5;
  const decisionReads = s.approvalPageViews + 2;
  // Invoke action: Powertools idempotency (1 conditional put + 1 update) per invocation.
  const invokeInvocations = 1 + s.invokeContinuations;
  const invokeWrites = 2 * invokeInvocations;
  // Teardown on failure (docs/PERFORMANCE.md "Teardown: state transitions per stack"): 7 per run + 6 per stack
  // deleted within ~10 min; task invocations = Task states entered (start, check, discover, inspect, delete,
  // conclude, record, finish); one CloudFormation status event → stack-events.
  const teardownTransitions = s.failureRate * (7 + 6);
  const teardownTasks = s.failureRate * 8;
  const teardownWrites = s.failureRate * (1 + 1 + 1 + 1 + 2); // run, wait, delete wait, outcome, registration updates
  const teardownReads = s.failureRate * 3;
  return {
    invocations: {
      PipelineEventsFunction: stateEvents,
      ApprovalRequestFunction: approvalRequestInvocations,
      ApprovalApiFunction: apiInvocations,
      InvokeActionFunction: invokeInvocations,
      TeardownTaskFunction: teardownTasks,
      StackEventsFunction: s.failureRate,
    },
    sfnTransitions: teardownTransitions,
    wru: eventWrites + notificationWrites + approvalWrites + decisionWrites + invokeWrites + teardownWrites,
    rru: eventReads + approvalReads + decisionReads + teardownReads,
    httpApi: apiInvocations,
    snsPublishes: 1,
    emails: s.approvalEmails + s.failureRate /* failure notification */,
    // approval decided event + teardown summary event
    customEvents: 1 + s.failureRate,
    // Secrets are cached 60 s per container; at steady traffic about one call per container-minute, ~0 per run.
    secretsCalls: 0,
  };
};

export const costPerThousand = (s: Scenario) => {
  const c = countsPerExecution(s);
  const lines: Array<{ item: string; perExecution: string; usd: number }> = [];
  for (const [name, n] of Object.entries(c.invocations) as Array<[FunctionName, number]>) {
    const f = FUNCTIONS[name];
    const ms = f.warmMs + s.coldStartShare * f.initMs;
    const gbs = (n * ms * f.memoryMb) / 1024 / 1000;
    lines.push({
      item: `Lambda ${name} (${f.memoryMb} MB, ~${ms.toFixed(0)} ms billed)`,
      perExecution: `${n.toFixed(2)} invocations`,
      usd: 1000 * (n * PRICES.lambdaRequest + gbs * PRICES.lambdaGbSecond),
    });
  }
  lines.push({
    item: 'Step Functions state transitions (Standard)',
    perExecution: c.sfnTransitions.toFixed(2),
    usd: 1000 * c.sfnTransitions * PRICES.sfnTransition,
  });
  lines.push({
    item: 'DynamoDB write request units',
    perExecution: c.wru.toFixed(1),
    usd: 1000 * c.wru * PRICES.dynamoWru,
  });
  lines.push({
    item: 'DynamoDB read request units',
    perExecution: c.rru.toFixed(1),
    usd: 1000 * c.rru * PRICES.dynamoRru,
  });
  lines.push({
    item: 'API Gateway HTTP API requests',
    perExecution: c.httpApi.toFixed(0),
    usd: 1000 * c.httpApi * PRICES.httpApiRequest,
  });
  lines.push({
    item: 'SNS publishes (approval topic)',
    perExecution: c.snsPublishes.toFixed(0),
    usd: 1000 * c.snsPublishes * PRICES.snsPublish,
  });
  lines.push({ item: 'SES emails', perExecution: c.emails.toFixed(2), usd: 1000 * c.emails * PRICES.sesEmail });
  lines.push({
    item: 'EventBridge custom events',
    perExecution: c.customEvents.toFixed(2),
    usd: 1000 * c.customEvents * PRICES.eventBridgeCustomEvent,
  });
  const total = lines.reduce((sum, l) => sum + l.usd, 0);
  return { lines, total };
};

/** Scheduled functions cost the same whatever the traffic (per 30-day month). */
export const fixedMonthly = () => {
  const perMonth = (invocations: number, memoryMb: number, ms: number) =>
    invocations * PRICES.lambdaRequest + (invocations * ms * memoryMb * PRICES.lambdaGbSecond) / 1024 / 1000;
  const reminders = perMonth(30 * 24 * 12, 512, 80); // every 5 minutes, one table query when idle
  const sweeper = perMonth(30 * 24, 512, 300); // hourly, lists stacks
  return { reminders, sweeper, total: reminders + sweeper };
};

const usd = (n: number) => (n < 0.01 ? `$${n.toFixed(4)}` : `$${n.toFixed(2)}`);

export const markdown = (s: Scenario): string => {
  const { lines, total } = costPerThousand(s);
  const fixed = fixedMonthly();
  return [
    '## Cost per 1,000 pipeline executions',
    '',
    '`npx node scripts/cost-model.ts` (options: `--failure-rate`, `--emails`, `--page-views`). A model from the code',
    'paths, not a bill: counts per execution are derived in the script, which names the code path of each; durations are',
    'assumed warm billed times plus a cold-start share of the init times measured above. Prices: AWS public',
    'on-demand list prices for us-east-1 (Lambda Arm $0.20/M requests + $0.0000133334/GB-s; Step Functions',
    'Standard $0.025/1,000 transitions; DynamoDB on-demand $0.625/M WRU, $0.125/M RRU; HTTP API $1.00/M; SNS',
    '$0.50/M publishes; SES $0.10/1,000 emails; EventBridge custom events $1.00/M), looked up 2026-11-23.',
    '',
    `Scenario: ${s.stages} stages × ${s.actionsPerStage} actions, one manual approval (${s.approvalEmails} emails, Slack, ` +
      `${s.approvalPageViews} page views, one decision), one Invoke action with ${s.invokeContinuations} continuation(s), ` +
      `${Math.round(s.failureRate * 100)} % of executions failing and tearing down one stack, ` +
      `${Math.round(s.coldStartShare * 100)} % cold starts. Free tiers ignored.`,
    '',
    '| Item | Per execution | USD per 1,000 executions |',
    '|---|---:|---:|',
    ...lines.map((l) => `| ${l.item} | ${l.perExecution} | ${usd(l.usd)} |`),
    `| **Total** | | **${usd(total)}** |`,
    '',
    `Fixed, whatever the traffic: reminders every 5 minutes ${usd(fixed.reminders)}/month, hourly sweeper ` +
      `${usd(fixed.sweeper)}/month. Not included: CodePipeline's own charges, CloudWatch Logs ingestion, X-Ray ` +
      'traces, Secrets Manager storage ($0.40/secret/month) and data transfer.',
    '',
  ].join('\n');
};

const main = () => {
  const { values } = parseArgs({
    options: {
      'failure-rate': { type: 'string' },
      emails: { type: 'string' },
      'page-views': { type: 'string' },
    },
  });
  const num = (raw: string | undefined, name: string, fallback: number, max: number) => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0 || n > max) throw new Error(`--${name} must be a number from 0 to ${max}`);
    return n;
  };
  const scenario: Scenario = {
    ...REFERENCE,
    failureRate: num(values['failure-rate'], 'failure-rate', REFERENCE.failureRate, 1),
    approvalEmails: num(values.emails, 'emails', REFERENCE.approvalEmails, 50),
    approvalPageViews: num(values['page-views'], 'page-views', REFERENCE.approvalPageViews, 50),
  };
  process.stdout.write(markdown(scenario));
};

if (import.meta.url === `file://${process.argv[1]}`) main();
