import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { type ApprovalRecord, approvalIdFor } from '#core/approvals/model';
import { sweepReminders } from '#core/approvals/reminders';
import { handleRequestEvent, type RequestDeps } from '#core/approvals/request';
import { RequestFunctionEvent } from '#core/approvals/schemas';
import type { ActionExecutionInfo, PipelineStateInfo } from '#core/ports';
import { FakeClock, FakeMailer, FakeSlack, KEYS, MemoryApprovalStore, NOW, settingsWith } from './fakes.ts';

const fixture = (name: string) => RequestFunctionEvent.parse(JSON.parse(readFileSync(`events/${name}.json`, 'utf8')));
const TOKEN = '1a2b3c4d-573f-4ea7-a67e-EXAMPLETOKEN';
const EXEC = '8c2a4a4e-1c1d-4d6e-9a5b-3f3c2b1a0e9d';

const stateWith = (execId: string, token?: string, status = 'InProgress'): PipelineStateInfo => ({
  pipelineName: 'web-app',
  stages: [
    { stageName: 'Build', latestExecution: { pipelineExecutionId: execId, status: 'Succeeded' }, actions: [] },
    {
      stageName: 'Prod',
      latestExecution: { pipelineExecutionId: execId, status: 'InProgress' },
      actions: [{ stageName: 'Prod', actionName: 'Approve', status, token, pipelineExecutionId: execId }],
    },
  ],
});

const setup = (
  over: {
    state?: PipelineStateInfo;
    executions?: ActionExecutionInfo[];
    sender?: string;
    actionConfig?: Record<string, string>;
  } = {},
) => {
  const store = new MemoryApprovalStore();
  const slack = new FakeSlack();
  const mailer = new FakeMailer();
  const warn = vi.fn();
  const pipelines = {
    getPipelineState: vi.fn(async () => over.state ?? stateWith(EXEC, TOKEN)),
    getPipelineExecution: vi.fn(async () => ({
      pipelineName: 'web-app',
      pipelineExecutionId: EXEC,
      status: 'InProgress',
      trigger: {
        triggerType: 'StartPipelineExecution',
        triggerDetail: 'arn:aws:sts::123456789012:assumed-role/Deployer/dev@example.com',
      },
      sourceRevisions: [
        {
          actionName: 'Source',
          revisionId: 'abc1234def5678',
          revisionSummary: '{"ProviderType":"GitHub","CommitMessage":"Fix checkout\\n\\nlong body"}',
        },
      ],
    })),
    listActionExecutions: vi.fn(async () => over.executions ?? []),
    listRecentActionExecutions: vi.fn(async () => over.executions ?? []),
    getActionConfiguration: vi.fn(async (): Promise<Record<string, string> | undefined> => over.actionConfig),
  };
  const settings = settingsWith({
    defaults: { slackChannels: ['C0DEPLOYS'], emails: ['ana@example.com', 'bo@example.com'] },
  });
  const deps: RequestDeps = {
    store,
    slack,
    mailer: over.sender === '' ? undefined : mailer,
    keys: async () => KEYS,
    baseUrl: 'https://approvals.example.com',
    clock: new FakeClock(NOW),
    warn,
    pipelines,
    settings: async () => settings,
  };
  return { store, slack, mailer, warn, pipelines, deps };
};

describe('approval-request', () => {
  it('stores the SNS approval (token server-side only), posts to Slack and emails each recipient a signed link', async () => {
    const { store, slack, mailer, deps } = setup();
    const out = await handleRequestEvent(fixture('sns-approval-sequential'), deps);
    const id = approvalIdFor(TOKEN);
    expect(out).toEqual([{ kind: 'created', id }]);
    const r = await store.get(id);
    expect(r).toMatchObject({
      status: 'PENDING',
      pipeline: 'web-app',
      stage: 'Prod',
      action: 'Approve',
      executionId: EXEC,
      token: TOKEN,
      expiresAt: '2026-03-09T10:00:00.000Z',
      authors: ['dev@example.com'],
      revision: { id: 'abc1234def5678' },
      slackPosts: [{ channel: 'C0DEPLOYS', ts: '1700000000.000001' }],
      emailedTo: ['ana@example.com', 'bo@example.com'],
    });
    expect(slack.posted).toHaveLength(1);
    const posted = JSON.stringify(slack.posted[0]);
    expect(posted).not.toContain(TOKEN);
    expect(posted).toContain('Fix checkout');
    expect(posted).toContain(`"value":"${id}"`);
    expect(mailer.sent.map((m) => m.to)).toEqual([['ana@example.com'], ['bo@example.com']]);
    const link = /https:\/\/approvals\.example\.com\/approvals\/\S+/.exec(mailer.sent[0]?.text ?? '')?.[0] ?? '';
    const url = new URL(link);
    expect(url.pathname).toBe(`/approvals/${id}`);
    expect(url.searchParams.get('r')).toBe('ana@example.com');
    // The link never outlives the route's TTL (1440 min) nor the action's deadline.
    expect(Number(url.searchParams.get('e'))).toBe(Date.parse(NOW) / 1000 + 86_400);
    expect(mailer.sent.map((m) => m.text + (m.html ?? '')).join()).not.toContain(TOKEN);
  });

  it('accepts what CodePipeline sends for an action without link or custom data: null fields', async () => {
    const { store, slack, deps } = setup();
    for (const [name, token] of [
      ['sns-approval-null-link', 'fa777887-41dc-4ac4-8455-a209a93c76b9'],
      ['sns-approval-null-link-and-data', '50fd00f7-d5e6-4a6c-a9cb-69a72338ce52'],
    ] as const) {
      const out = await handleRequestEvent(fixture(name), deps);
      expect(out).toEqual([{ kind: 'created', id: approvalIdFor(token) }]);
      const r = await store.get(approvalIdFor(token));
      expect(r?.externalEntityLink).toBeUndefined();
      expect(r?.customData).toBeUndefined();
      expect(r?.source).toBe('sns');
    }
    expect(slack.posted).toHaveLength(2);
    expect(JSON.stringify(slack.posted)).not.toContain('null');
  });

  it('takes each SNS record on its own: a record that is not an approval neither stops nor hides the others', async () => {
    const { store, slack, warn, deps } = setup();
    const batch = fixture('sns-approval-batch-with-bad-record');
    await expect(handleRequestEvent(batch, deps)).rejects.toMatchObject({
      name: 'ValidationError',
      message: expect.stringContaining('1 of 3 SNS records failed: record 1 (2): SNS message is not JSON'),
    });
    expect(await store.get(approvalIdFor('1a2b3c4d-573f-4ea7-a67E-XAMPLETOKEN'))).toBeDefined();
    expect(await store.get(approvalIdFor('fa777887-41dc-4ac4-8455-a209a93c76b9'))).toBeDefined();
    expect(slack.posted).toHaveLength(2);
    expect(warn).toHaveBeenCalledWith(
      'SNS record failed; the other records go on',
      expect.objectContaining({ index: 1 }),
    );
    // Lambda's retry of the same event: the good records are duplicates, nothing is announced twice.
    await expect(handleRequestEvent(batch, deps)).rejects.toMatchObject({ name: 'ValidationError' });
    expect(slack.posted).toHaveLength(2);
  });

  it('a record failing for a passing reason fails the invocation after the others; the retry announces nothing twice', async () => {
    const { store, slack, mailer, deps } = setup();
    const create = store.create.bind(store);
    let failOnce = true;
    store.create = async (r: ApprovalRecord) => {
      if (failOnce && r.pipeline === 'MyFirstPipeline') {
        failOnce = false;
        throw new Error('socket hang up');
      }
      return create(r);
    };
    const batch = fixture('sns-approval-batch-with-bad-record');
    await expect(handleRequestEvent(batch, deps)).rejects.toMatchObject({
      name: 'UnavailableError',
      message: expect.stringMatching(/^2 of 3 SNS records failed: record 0 \(0\): socket hang up; record 1 \(2\)/),
    });
    expect(slack.posted).toHaveLength(1);
    // The retry: the first record is created now, the third is a duplicate and is not announced again.
    await expect(handleRequestEvent(batch, deps)).rejects.toMatchObject({ name: 'ValidationError' });
    expect(slack.posted).toHaveLength(2);
    expect(mailer.sent).toHaveLength(4);
  });

  it('dedupes at-least-once deliveries: SNS twice, then the EventBridge STARTED for the same token', async () => {
    const { slack, mailer, deps } = setup();
    await handleRequestEvent(fixture('sns-approval-sequential'), deps);
    const again = await handleRequestEvent(fixture('sns-approval-sequential'), deps);
    const eb = await handleRequestEvent(fixture('eventbridge-approval-started'), deps);
    expect(again[0]?.kind).toBe('duplicate');
    expect(eb[0]).toEqual({ kind: 'duplicate', id: approvalIdFor(TOKEN) });
    expect(slack.posted).toHaveLength(1);
    expect(mailer.sent).toHaveLength(2);
  });

  it('discovers an approval from EventBridge alone, matching the execution id (GetPipelineState)', async () => {
    const { store, deps, pipelines } = setup();
    const out = await handleRequestEvent(fixture('eventbridge-approval-started'), deps);
    expect(out[0]).toEqual({ kind: 'created', id: approvalIdFor(TOKEN) });
    expect(pipelines.getPipelineState).toHaveBeenCalledWith('web-app');
    expect(pipelines.listActionExecutions).not.toHaveBeenCalled();
    expect(await store.get(approvalIdFor(TOKEN))).toMatchObject({
      source: 'eventbridge',
      executionId: EXEC,
      expiresAt: '2026-03-09T10:00:00.000Z',
    });
  });

  it('EventBridge first, SNS second: the SNS deadline and details enrich the record and the Slack message', async () => {
    const { store, slack, mailer, deps } = setup();
    await handleRequestEvent(fixture('eventbridge-approval-started'), deps);
    const id = approvalIdFor(TOKEN);
    expect((await store.get(id))?.customData).toBeUndefined();
    expect(await handleRequestEvent(fixture('sns-approval-sequential'), deps)).toEqual([{ kind: 'duplicate', id }]);
    expect(await store.get(id)).toMatchObject({
      source: 'sns',
      customData: 'Release 1.4: check the canary dashboard first.',
      externalEntityLink: 'https://example.com/changes/42',
      expiresAt: '2026-03-09T10:00:00.000Z',
    });
    expect(JSON.stringify(slack.updated[0]?.blocks)).toContain('Release 1.4');
    expect(mailer.sent).toHaveLength(2); // nobody is emailed twice
  });

  it('EventBridge first for an action with a NotificationArn: the first message waits for the SNS details', async () => {
    const { store, slack, mailer, deps, pipelines } = setup({
      actionConfig: { NotificationArn: 'arn:aws:sns:us-east-2:123456789012:stagecrew-approvals' },
    });
    const id = approvalIdFor(TOKEN);
    expect(await handleRequestEvent(fixture('eventbridge-approval-started'), deps)).toEqual([{ kind: 'created', id }]);
    expect(pipelines.getActionConfiguration).toHaveBeenCalledWith('web-app', 'Prod', 'Approve');
    expect(await store.get(id)).toMatchObject({ announceAfter: '2026-03-02T10:01:00.000Z' });
    expect(slack.posted).toHaveLength(0);
    // An EventBridge redelivery inside the wait does not announce either.
    await handleRequestEvent(fixture('eventbridge-approval-started'), deps);
    expect(slack.posted).toHaveLength(0);
    // The SNS message: the one announcement carries CustomData, the review link and the real deadline.
    await handleRequestEvent(fixture('sns-approval-sequential'), deps);
    expect(slack.posted).toHaveLength(1);
    expect(slack.updated).toHaveLength(0);
    expect(JSON.stringify(slack.posted[0])).toContain('Release 1.4');
    expect(mailer.sent.map((m) => m.text).join()).toContain('2026-03-09T10:00:00.000Z');
  });

  it('SNS losing the create race to a held EventBridge record still announces it, with its details', async () => {
    const { store, slack, deps } = setup({ actionConfig: { NotificationArn: 'arn:aws:sns:us-east-2:1:t' } });
    await handleRequestEvent(fixture('eventbridge-approval-started'), deps);
    expect(slack.posted).toHaveLength(0);
    // The SNS delivery read "no record" just before EventBridge's write landed.
    const get = store.get.bind(store);
    let first = true;
    store.get = async (id: string) => {
      if (first) {
        first = false;
        return undefined;
      }
      return get(id);
    };
    await handleRequestEvent(fixture('sns-approval-sequential'), deps);
    expect(slack.posted).toHaveLength(1);
    expect(JSON.stringify(slack.posted[0])).toContain('Release 1.4');
  });

  it('an SNS message that never comes: the reminder sweep announces once the wait is over', async () => {
    const { slack, deps } = setup({ actionConfig: { NotificationArn: 'arn:aws:sns:us-east-2:1:t' } });
    await handleRequestEvent(fixture('eventbridge-approval-started'), deps);
    const clock = deps.clock as FakeClock;
    expect((await sweepReminders(deps)).announced).toEqual([]);
    clock.advance(60_000);
    expect((await sweepReminders(deps)).announced).toEqual([approvalIdFor(TOKEN)]);
    expect((await sweepReminders(deps)).announced).toEqual([]);
    expect(slack.posted).toHaveLength(1);
  });

  it('an SNS message later than the announcement updates the messages in place and is audited', async () => {
    const { store, slack, deps } = setup();
    await handleRequestEvent(fixture('eventbridge-approval-started'), deps);
    await handleRequestEvent(fixture('sns-approval-sequential'), deps);
    expect(slack.updated).toHaveLength(1);
    expect(store.audits.map((a) => [a.event, a.reason])).toContainEqual([
      'notified',
      'the SNS message arrived after the announcement; messages updated with its details',
    ]);
  });

  it('SNS and EventBridge at the same instant: one record, one announcement, the SNS details kept', async () => {
    const { mailer, deps } = setup();
    // Both deliveries read "no record" before either writes, and EventBridge's conditional put wins.
    class RacingStore extends MemoryApprovalStore {
      reads = 0;
      #bothRead = Promise.withResolvers<void>();
      #ebCreated = Promise.withResolvers<void>();
      override async get(id: string) {
        const r = await super.get(id);
        if (++this.reads === 2) this.#bothRead.resolve();
        return r;
      }
      override async create(record: ApprovalRecord) {
        await this.#bothRead.promise;
        if (record.source === 'sns') await this.#ebCreated.promise;
        const ok = await super.create(record);
        if (record.source === 'eventbridge') this.#ebCreated.resolve();
        return ok;
      }
    }
    const store = new RacingStore();
    deps.store = store;
    const out = await Promise.all([
      handleRequestEvent(fixture('eventbridge-approval-started'), deps),
      handleRequestEvent(fixture('sns-approval-sequential'), deps),
    ]);
    expect(
      out
        .flat()
        .map((o) => o.kind)
        .sort(),
    ).toEqual(['created', 'duplicate']);
    expect(mailer.sent).toHaveLength(2); // two recipients, once each
    expect((await store.get(approvalIdFor(TOKEN)))?.customData).toBe('Release 1.4: check the canary dashboard first.');
  });

  it('a redelivery arriving while the creator is still announcing does not announce again; a crashed one is redone', async () => {
    const { store, mailer, deps } = setup();
    const clock = deps.clock as FakeClock;
    await handleRequestEvent(fixture('sns-approval-sequential'), deps);
    const id = approvalIdFor(TOKEN);
    // Simulate "created and claimed, nothing sent yet" (the creator is mid-announce, or crashed).
    const r = store.records.get(id);
    if (r) Object.assign(r, { slackPosts: [], emailedTo: [] });
    mailer.sent = [];
    await handleRequestEvent(fixture('sns-approval-sequential'), deps);
    expect(mailer.sent).toHaveLength(0);
    clock.advance(5 * 60_000);
    await handleRequestEvent(fixture('sns-approval-sequential'), deps);
    expect(mailer.sent).toHaveLength(2);
    await handleRequestEvent(fixture('sns-approval-sequential'), deps);
    expect(mailer.sent).toHaveLength(2);
  });

  it('never takes the token of another execution; falls back to ListActionExecutions (PARALLEL)', async () => {
    const exec = '5d6e7f80-aaaa-4bbb-8ccc-000000000002';
    const { store, deps, pipelines } = setup({
      state: stateWith('some-newer-execution', 'token-of-the-other-execution'),
      executions: [
        {
          pipelineExecutionId: exec,
          actionExecutionId: 'a1',
          stageName: 'Prod',
          actionName: 'Deploy',
          status: 'InProgress',
          externalExecutionId: 'nope',
        },
        {
          pipelineExecutionId: exec,
          actionExecutionId: 'a2',
          stageName: 'Prod',
          actionName: 'Approve',
          status: 'InProgress',
          externalExecutionId: 'parallel-token-2',
        },
      ],
    });
    const out = await handleRequestEvent(fixture('eventbridge-approval-started-parallel'), deps);
    expect(out[0]).toEqual({ kind: 'created', id: approvalIdFor('parallel-token-2') });
    expect(pipelines.listActionExecutions).toHaveBeenCalledWith('web-app-parallel', exec);
    expect((await store.get(approvalIdFor('parallel-token-2')))?.token).toBe('parallel-token-2');
  });

  it('a PARALLEL SNS approval finds its execution through ListActionExecutions (externalExecutionId = token)', async () => {
    const exec = '5d6e7f80-aaaa-4bbb-8ccc-000000000002';
    const token = '7f3e2d1c-9b8a-4c5d-8e7f-PARALLELTOKEN';
    const { store, deps } = setup({
      state: stateWith('some-other-execution', 'other-token'),
      executions: [
        {
          pipelineExecutionId: exec,
          actionExecutionId: 'a9',
          stageName: 'Prod',
          actionName: 'Approve',
          status: 'InProgress',
          externalExecutionId: token,
        },
      ],
    });
    const out = await handleRequestEvent(fixture('sns-approval-parallel'), deps);
    expect(out).toEqual([{ kind: 'created', id: approvalIdFor(token) }]);
    expect((await store.get(approvalIdFor(token)))?.executionId).toBe(exec);
  });

  it('retries (throws a retryable error) when the token is not visible yet', async () => {
    const { deps } = setup({ state: stateWith('other', 'x') });
    await expect(handleRequestEvent(fixture('eventbridge-approval-started'), deps)).rejects.toMatchObject({
      name: 'UnavailableError',
      retryable: true,
    });
  });

  it('closes the approval when it ends elsewhere, updates the Slack message and removes the buttons', async () => {
    const { store, slack, deps } = setup();
    await handleRequestEvent(fixture('sns-approval-sequential'), deps);
    const out = await handleRequestEvent(fixture('eventbridge-approval-succeeded'), deps);
    const id = approvalIdFor(TOKEN);
    expect(out).toEqual([{ kind: 'closed', ids: [id] }]);
    expect((await store.get(id))?.status).toBe('CLOSED');
    const update = slack.updated[0];
    expect(update).toMatchObject({ channel: 'C0DEPLOYS', ts: '1700000000.000001' });
    expect(JSON.stringify(update?.blocks)).not.toContain('"type":"actions"');
    expect(update?.text).toContain('Closed outside Stagecrew');
    // A second delivery changes nothing.
    expect(await handleRequestEvent(fixture('eventbridge-approval-succeeded'), deps)).toEqual([
      { kind: 'closed', ids: [] },
    ]);
  });

  it('marks approvals of a superseded execution SUPERSEDED', async () => {
    const { store, deps } = setup();
    await handleRequestEvent(fixture('sns-approval-sequential'), deps);
    await handleRequestEvent(fixture('eventbridge-approval-pipeline-superseded'), deps);
    expect((await store.get(approvalIdFor(TOKEN)))?.status).toBe('SUPERSEDED');
  });

  it('ignores non-approval actions and disables email with a warning when no sender is configured', async () => {
    const { deps, warn, store } = setup({ sender: '' });
    const other = JSON.parse(readFileSync('events/eventbridge-codepipeline-action-started.json', 'utf8'));
    expect(await handleRequestEvent(RequestFunctionEvent.parse(other), deps)).toEqual([
      { kind: 'ignored', reason: 'category Deploy' },
    ]);
    await handleRequestEvent(fixture('sns-approval-sequential'), deps);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('approval emails are disabled'));
    expect((await store.get(approvalIdFor(TOKEN)))?.emailedTo).toEqual([]);
  });

  it('rejects a malformed SNS message with a ValidationError', async () => {
    const { deps } = setup();
    const bad = fixture('sns-approval-sequential');
    if ('Records' in bad && bad.Records[0]) bad.Records[0].Sns.Message = '{"approval":{}}';
    await expect(handleRequestEvent(bad, deps)).rejects.toMatchObject({ name: 'ValidationError' });
  });
});
