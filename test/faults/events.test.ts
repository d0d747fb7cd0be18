/**
 * Duplicate and out-of-order delivery on the local cloud: CodePipeline state-change events put on the default bus
 * (or redelivered to the function with the same id, as EventBridge's at-least-once delivery does) reach the real
 * PipelineEventsFunction. Whatever the order and however often an event arrives, the execution's timeline is the
 * one in-order delivery produces and each routed event is notified once. SNS redelivery of an approval message
 * creates one approval and one message per recipient.
 *
 * The shuffles are seeded: STAGECREW_FAULTS_SEED (default below) replays a failure; the seed is in every message.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { ListExecutionsCommand, ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/local-cloud.ts';
import {
  clearFaults,
  type FaultCloud,
  faults,
  inject,
  items,
  meter,
  outbox,
  settle,
  startFaultCloud,
} from './harness.ts';

const SEED = Number.parseInt(process.env.STAGECREW_FAULTS_SEED ?? '20261123', 10);
const FN = 'stagecrew-PipelineEventsFunction';

let t: FaultCloud;
let events: EventBridgeClient;
let db: DynamoDBDocumentClient;

beforeAll(async () => {
  t = await startFaultCloud();
  events = new EventBridgeClient(t.clientConfig);
  db = DynamoDBDocumentClient.from(new DynamoDBClient(t.clientConfig));
});
afterAll(async () => {
  await t?.cleanup();
});

/** mulberry32: a small seeded PRNG, so a shuffle can be replayed from its seed. */
const prng = (seed: number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
};
const shuffle = <T>(xs: readonly T[], random: () => number): T[] => {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
};

type PipelineEvent = { detailType: string; detail: Record<string, unknown>; time: Date };

/** One failed execution: Source succeeds, Build fails, the pipeline fails (10 events, 1 s apart). */
const execution = (pipeline: string, executionId: string): PipelineEvent[] => {
  const t0 = Date.parse('2026-11-23T10:00:00Z');
  const base = { pipeline, 'execution-id': executionId, version: 1 };
  const P = 'CodePipeline Pipeline Execution State Change';
  const S = 'CodePipeline Stage Execution State Change';
  const A = 'CodePipeline Action Execution State Change';
  const action = (stage: string, state: string) => ({
    ...base,
    stage,
    action: stage,
    state,
    region: 'us-east-1',
    type: { owner: 'AWS', category: stage === 'Source' ? 'Source' : 'Build', provider: 'CodeBuild', version: '1' },
  });
  const list: Array<[string, Record<string, unknown>]> = [
    [P, { ...base, state: 'STARTED' }],
    [S, { ...base, stage: 'Source', state: 'STARTED' }],
    [A, action('Source', 'STARTED')],
    [A, action('Source', 'SUCCEEDED')],
    [S, { ...base, stage: 'Source', state: 'SUCCEEDED' }],
    [S, { ...base, stage: 'Build', state: 'STARTED' }],
    [A, action('Build', 'STARTED')],
    [A, action('Build', 'FAILED')],
    [S, { ...base, stage: 'Build', state: 'FAILED' }],
    [P, { ...base, state: 'FAILED' }],
  ];
  return list.map(([detailType, detail], i) => ({ detailType, detail, time: new Date(t0 + i * 1000) }));
};

const invocations = async () => (await meter(t)).functions[FN]?.invocations ?? 0;

/** Puts events on the default bus one by one, each after the function has taken the previous one. */
const putInOrder = async (list: PipelineEvent[]) => {
  for (const e of list) {
    const before = await invocations();
    await put([e]);
    await waitFor(async () => (await invocations()) > before, 10_000, 10);
  }
  await settle(t);
};
const put = async (list: PipelineEvent[]) => {
  for (let i = 0; i < list.length; i += 10) {
    const out = await events.send(
      new PutEventsCommand({
        Entries: list.slice(i, i + 10).map((e) => ({
          Source: 'aws.codepipeline',
          DetailType: e.detailType,
          Detail: JSON.stringify(e.detail),
          Time: e.time,
          Resources: [`arn:aws:codepipeline:us-east-1:000000000000:${String(e.detail.pipeline)}`],
        })),
      }),
    );
    expect(out.FailedEntryCount ?? 0).toBe(0);
  }
};

/** The delivery summary's parts carry the revision of their timeline record: how many writes, so arrival-dependent. */
const withoutRevisions = (v: unknown): unknown =>
  Array.isArray(v)
    ? v.map(withoutRevisions)
    : v && typeof v === 'object'
      ? Object.fromEntries(
          Object.entries(v)
            .filter(([k]) => k !== 'rev')
            .map(([k, x]) => [k, withoutRevisions(x)]),
        )
      : v;

/**
 * The execution's timeline and its delivery summary, without what depends on arrival (revisions, when written,
 * which event id), with the execution id and pipeline name replaced so executions compare.
 */
const timeline = async (pipeline: string, executionId: string) =>
  (await items(t, db, `EXEC#${executionId}`))
    .map((i) => withoutRevisions(i) as Record<string, unknown>)
    .map((i) =>
      Object.fromEntries(
        Object.entries(i)
          .filter(([k]) => !['revision', 'updatedAt', 'firstSeenAt', 'lastEventId', 'eventIds', 'ttl'].includes(k))
          .map(([k, v]) => [
            k,
            typeof v === 'string' ? v.replaceAll(executionId, '<exec>').replaceAll(pipeline, '<pipeline>') : v,
          ]),
      ),
    )
    .sort((a, b) => String(a.sk).localeCompare(String(b.sk)));

/** Notification emails for this pipeline (not approvals), counted per recipient. */
const notifications = async (pipeline: string): Promise<Record<string, number>> => {
  const counts: Record<string, number> = {};
  for (const m of await outbox(t)) {
    if (m.channel !== 'email' || !(m.subject ?? '').includes(pipeline) || /approval/i.test(m.subject ?? '')) continue;
    for (const to of m.to) counts[to] = (counts[to] ?? 0) + 1;
  }
  return counts;
};
const ONCE_EACH = { 'ana@example.com': 1, 'bob@example.com': 1 };

describe('EventBridge delivery of CodePipeline state changes', () => {
  let reference: Awaited<ReturnType<typeof timeline>>;
  let referenceNotifications: Record<string, number> = {};

  it('in order: the reference timeline and one notification per routed event', async () => {
    const id = randomUUID();
    await putInOrder(execution('events-in-order', id));
    reference = await timeline('events-in-order', id);
    referenceNotifications = await notifications('events-in-order');
    expect(reference.map((r) => `${r.sk}=${r.state ?? (r.execution as { state?: string })?.state}`)).toEqual([
      'ACTION#Build#Build=FAILED',
      'ACTION#Source#Source=SUCCEEDED',
      'DELIVERY=FAILED',
      'EXECUTION=FAILED',
      'STAGE#Build=FAILED',
      'STAGE#Source=SUCCEEDED',
    ]);
    // The settings route FAILED pipeline executions to email: one message to each recipient for the one event.
    expect(referenceNotifications).toEqual(ONCE_EACH);
  });

  it('shuffled (seeded): the same timeline, the same notifications', async () => {
    for (let run = 0; run < 3; run++) {
      const id = randomUUID();
      const pipeline = `events-shuffled-${run}`;
      const order = shuffle(execution(pipeline, id), prng(SEED + run));
      await putInOrder(order);
      const got = await timeline(pipeline, id);
      const want = reference;
      const seedNote = `seed ${SEED + run}, order ${order.map((e) => `${String(e.detail.stage ?? 'pipeline')}:${String(e.detail.state)}`).join(' ')}`;
      expect(got, seedNote).toEqual(want);
      expect(await notifications(pipeline), seedNote).toEqual(referenceNotifications);
    }
  });

  it('every event put twice, all at once: the same timeline, one notification', async () => {
    const id = randomUUID();
    const pipeline = 'events-twice';
    const list = execution(pipeline, id);
    const before = await invocations();
    await put(shuffle([...list, ...list], prng(SEED)));
    // Every copy was taken (EventBridge retries a delivery that failed on a concurrent write).
    await waitFor(async () => (await invocations()) - before >= list.length * 2, 20_000);
    await settle(t);
    expect(await timeline(pipeline, id), `seed ${SEED}`).toEqual(reference);
    expect(await notifications(pipeline), `seed ${SEED}`).toEqual(referenceNotifications);
  });

  it('the same event (same id) redelivered: processed once, then a duplicate', async () => {
    const id = randomUUID();
    const [failed] = execution('events-redelivered', id).slice(-1);
    const envelope = {
      version: '0',
      id: randomUUID(),
      'detail-type': failed?.detailType,
      source: 'aws.codepipeline',
      account: '000000000000',
      time: failed?.time.toISOString(),
      region: 'us-east-1',
      resources: ['arn:aws:codepipeline:us-east-1:000000000000:events-redelivered'],
      detail: failed?.detail,
    };
    const lambda = new LambdaClient({ ...t.clientConfig, maxAttempts: 1 });
    const deliver = async () =>
      JSON.parse(
        Buffer.from(
          (await lambda.send(new InvokeCommand({ FunctionName: FN, Payload: Buffer.from(JSON.stringify(envelope)) })))
            .Payload ?? [],
        ).toString(),
      );
    expect(await deliver()).toMatchObject({ status: 'processed' });
    expect(await deliver()).toMatchObject({ status: 'duplicate', reason: 'done' });
    await settle(t);
    expect(await notifications('events-redelivered')).toEqual(ONCE_EACH);
  });

  it('the timeline write of a FAILED event dropped after it was stored: still notified once, teardown started once', async () => {
    const id = randomUUID();
    const pipeline = 'events-drop-after-timeline';
    const [failed] = execution(pipeline, id).slice(-1);
    await settle(t);
    // The function's first PutItem for a new execution is its timeline record (claims are updates).
    await inject(t, { service: 'dynamodb', operation: 'PutItem', fault: 'drop-after' });
    await put([failed as PipelineEvent]);
    await waitFor(async () => ((await faults(t))[0]?.fired === 1 ? true : undefined), 10_000);
    await settle(t);
    await clearFaults(t);
    expect(
      (await timeline(pipeline, id)).map((r) => `${r.sk}=${r.state ?? (r.execution as { state?: string })?.state}`),
    ).toEqual(['DELIVERY=FAILED', 'EXECUTION=FAILED']);
    expect(await notifications(pipeline)).toEqual(ONCE_EACH);
    const sfn = new SFNClient(t.clientConfig);
    const runs: string[] = [];
    for (const m of (await sfn.send(new ListStateMachinesCommand({}))).stateMachines ?? []) {
      for (const e of (await sfn.send(new ListExecutionsCommand({ stateMachineArn: m.stateMachineArn }))).executions ??
        [])
        if (e.name === `${pipeline}--${id}`) runs.push(e.name);
    }
    expect(runs).toHaveLength(1);
  });
});
