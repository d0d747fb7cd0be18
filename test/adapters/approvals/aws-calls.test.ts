import { readFileSync } from 'node:fs';
import {
  ApprovalAlreadyCompletedException,
  CodePipelineClient,
  GetPipelineCommand,
  GetPipelineExecutionCommand,
  GetPipelineStateCommand,
  InvalidApprovalTokenException,
  ListActionExecutionsCommand,
  PutApprovalResultCommand,
} from '@aws-sdk/client-codepipeline';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoApprovalStore } from '#core/adapters/approval-store';
import { CodePipelineGateway } from '#core/adapters/codepipeline';
import { createDocumentClient } from '#core/adapters/dynamodb';
import { SesMailer } from '#core/adapters/email';
import { EventBridgePublisher } from '#core/adapters/eventbridge';
import { SlackWebApi } from '#core/adapters/slack';
import { decide } from '#core/approvals/decide';
import { approvalIdFor } from '#core/approvals/model';
import { handleRequestEvent, resolveToken } from '#core/approvals/request';
import { RequestFunctionEvent } from '#core/approvals/schemas';
import { FakeClock, KEYS, MemoryApprovalStore, NOW, pendingRecord, settingsWith } from '../../unit/approvals/fakes.ts';

const cp = mockClient(CodePipelineClient);
const ses = mockClient(SESv2Client);
const events = mockClient(EventBridgeClient);
const gateway = new CodePipelineGateway(new CodePipelineClient({ region: 'us-east-2' }));
const publisher = new EventBridgePublisher(new EventBridgeClient({ region: 'us-east-2' }));

beforeEach(() => {
  cp.reset();
  ses.reset();
  events.reset();
  events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] });
});

const EXEC = '8c2a4a4e-1c1d-4d6e-9a5b-3f3c2b1a0e9d';

describe('CodePipeline calls', () => {
  it('GetPipelineState is matched on the stage execution id, then ListActionExecutions for PARALLEL', async () => {
    cp.on(GetPipelineStateCommand).resolves({
      pipelineName: 'web-app',
      stageStates: [
        {
          stageName: 'Prod',
          latestExecution: { pipelineExecutionId: 'another-execution', status: 'InProgress' },
          actionStates: [
            {
              actionName: 'Approve',
              latestExecution: { actionExecutionId: 'x', status: 'InProgress', token: 'WRONG' },
            },
          ],
        },
      ],
    });
    cp.on(ListActionExecutionsCommand).resolves({
      actionExecutionDetails: [
        {
          pipelineExecutionId: EXEC,
          actionExecutionId: 'ae-1',
          stageName: 'Prod',
          actionName: 'Approve',
          status: 'InProgress',
          input: { actionTypeId: { category: 'Approval', owner: 'AWS', provider: 'Manual', version: '1' } },
          output: { executionResult: { externalExecutionId: 'RIGHT-TOKEN' } },
        },
      ],
    });
    expect(await resolveToken({ pipelines: gateway }, 'web-app', EXEC, 'Prod', 'Approve')).toBe('RIGHT-TOKEN');
    expect(cp.commandCalls(GetPipelineStateCommand)[0]?.args[0].input).toEqual({ name: 'web-app' });
    expect(cp.commandCalls(ListActionExecutionsCommand)[0]?.args[0].input).toEqual({
      pipelineName: 'web-app',
      filter: { pipelineExecutionId: EXEC },
      maxResults: 100,
    });
  });

  it("GetPipeline by name reads the approval action's configuration (NotificationArn)", async () => {
    cp.on(GetPipelineCommand).resolves({
      pipeline: {
        name: 'web-app',
        roleArn: 'arn:aws:iam::123456789012:role/pipeline',
        stages: [
          {
            name: 'Prod',
            actions: [
              {
                name: 'Approve',
                actionTypeId: { category: 'Approval', owner: 'AWS', provider: 'Manual', version: '1' },
                configuration: { NotificationArn: 'arn:aws:sns:us-east-2:123456789012:approvals' },
              },
            ],
          },
        ],
      },
    });
    const gateway = new CodePipelineGateway(new CodePipelineClient({}));
    expect(await gateway.getActionConfiguration('web-app', 'Prod', 'Approve')).toEqual({
      NotificationArn: 'arn:aws:sns:us-east-2:123456789012:approvals',
    });
    expect(await gateway.getActionConfiguration('web-app', 'Prod', 'Other')).toBeUndefined();
    expect(cp.commandCalls(GetPipelineCommand)[0]?.args[0].input).toEqual({ name: 'web-app' });
  });

  it('ListActionExecutions without a filter for recent executions (one page of 100)', async () => {
    cp.on(ListActionExecutionsCommand).resolves({ actionExecutionDetails: [] });
    expect(await gateway.listRecentActionExecutions('web-app')).toEqual([]);
    expect(cp.commandCalls(ListActionExecutionsCommand)[0]?.args[0].input).toEqual({
      pipelineName: 'web-app',
      maxResults: 100,
    });
  });

  const setupDecide = () => {
    const store = new MemoryApprovalStore();
    const r = pendingRecord({ pipeline: 'web-app', executionId: EXEC });
    store.records.set(r.id, structuredClone(r));
    return {
      store,
      r,
      deps: { store, pipelines: gateway, publisher, clock: new FakeClock(NOW), sleep: async () => {} },
    };
  };

  it('PutApprovalResult carries exactly pipeline, stage, action, token and the summary; the decision event follows', async () => {
    cp.on(PutApprovalResultCommand).resolves({ approvedAt: new Date('2026-03-02T10:00:02Z') });
    const { r, deps } = setupDecide();
    const out = await decide(
      { approvalId: r.id, voter: { channel: 'email', email: 'ana@example.com' }, decision: 'approve', comment: 'ship' },
      deps,
    );
    expect(cp.commandCalls(PutApprovalResultCommand).map((c) => c.args[0].input)).toEqual([
      {
        pipelineName: 'web-app',
        stageName: 'Prod',
        actionName: 'Approve',
        token: 'tok-1a2b3c4d',
        result: { status: 'Approved', summary: 'Approved by ana@example.com via email: ship' },
      },
    ]);
    expect(out.record.approvedAt).toBe('2026-03-02T10:00:02.000Z');
    const entry = events.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0];
    expect(entry).toMatchObject({
      Source: 'stagecrew',
      DetailType: 'Stagecrew Approval Decided',
      EventBusName: 'default',
    });
    expect(JSON.parse(entry?.Detail ?? '{}')).toMatchObject({
      approvalId: r.id,
      decision: 'APPROVED',
      executionId: EXEC,
    });
    expect(entry?.Detail).not.toContain('tok-1a2b3c4d');
  });

  it('ApprovalAlreadyCompletedException → 409; InvalidApprovalTokenException → 410; throttling is retried', async () => {
    cp.on(PutApprovalResultCommand).rejects(new ApprovalAlreadyCompletedException({ message: 'done', $metadata: {} }));
    const a = setupDecide();
    await expect(
      decide(
        { approvalId: a.r.id, voter: { channel: 'email', email: 'ana@example.com' }, decision: 'approve' },
        a.deps,
      ),
    ).rejects.toMatchObject({ status: 409, reason: 'already_decided' });
    cp.reset();
    cp.on(PutApprovalResultCommand).rejects(new InvalidApprovalTokenException({ message: 'bad', $metadata: {} }));
    const b = setupDecide();
    await expect(
      decide(
        { approvalId: b.r.id, voter: { channel: 'email', email: 'ana@example.com' }, decision: 'approve' },
        b.deps,
      ),
    ).rejects.toMatchObject({ status: 410 });
    cp.reset();
    const throttled = Object.assign(new Error('slow down'), {
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
    });
    cp.on(PutApprovalResultCommand)
      .rejectsOnce(throttled)
      .resolves({ approvedAt: new Date(NOW) });
    const c = setupDecide();
    const done = await decide(
      { approvalId: c.r.id, voter: { channel: 'email', email: 'ana@example.com' }, decision: 'approve' },
      c.deps,
    );
    expect(done.record.status).toBe('APPROVED');
    expect(cp.commandCalls(PutApprovalResultCommand)).toHaveLength(2);
  });
});

describe('SES and Slack calls on a new approval', () => {
  it('sends one SendEmail per recipient with its own signed link, and posts to Slack with unfurling off', async () => {
    cp.on(GetPipelineStateCommand).resolves({
      stageStates: [
        {
          stageName: 'Prod',
          latestExecution: { pipelineExecutionId: EXEC, status: 'InProgress' },
          actionStates: [
            {
              actionName: 'Approve',
              latestExecution: {
                actionExecutionId: 'a',
                status: 'InProgress',
                token: '1a2b3c4d-573f-4ea7-a67e-EXAMPLETOKEN',
              },
            },
          ],
        },
      ],
    });
    cp.on(GetPipelineExecutionCommand).resolves({
      pipelineExecution: {
        pipelineExecutionId: EXEC,
        status: 'InProgress',
        artifactRevisions: [{ name: 'Source', revisionId: 'abc123', revisionSummary: 'Fix checkout' }],
      },
    });
    ses.on(SendEmailCommand).resolves({ MessageId: 'm-1' });
    const bodies: Array<{ url: string; body: Record<string, unknown> }> = [];
    const slack = new SlackWebApi({
      baseUrl: 'https://slack.example/api',
      token: async () => 'xoxb-test',
      fetch: (async (url: string, init: RequestInit) => {
        bodies.push({ url, body: JSON.parse(String(init.body)) });
        return new Response(JSON.stringify({ ok: true, channel: 'C0DEPLOYS', ts: '1700000000.000100' }), {
          status: 200,
        });
      }) as typeof fetch,
    });
    const store = new MemoryApprovalStore();
    const settings = settingsWith({
      defaults: { slackChannels: ['C0DEPLOYS'], emails: ['ana@example.com', 'bo@example.com'] },
    });
    const event = RequestFunctionEvent.parse(JSON.parse(readFileSync('events/sns-approval-sequential.json', 'utf8')));
    await handleRequestEvent(event, {
      store,
      pipelines: gateway,
      slack,
      mailer: new SesMailer(new SESv2Client({ region: 'us-east-2' }), 'stagecrew@example.com'),
      keys: async () => KEYS,
      baseUrl: 'https://approvals.example.com',
      clock: new FakeClock(NOW),
      warn: () => {},
      settings: async () => settings,
    });
    const id = approvalIdFor('1a2b3c4d-573f-4ea7-a67e-EXAMPLETOKEN');
    expect(cp.commandCalls(GetPipelineExecutionCommand)[0]?.args[0].input).toEqual({
      pipelineName: 'web-app',
      pipelineExecutionId: EXEC,
    });
    const sends = ses.commandCalls(SendEmailCommand).map((c) => c.args[0].input);
    expect(sends).toHaveLength(2);
    expect(sends[0]).toEqual({
      FromEmailAddress: 'stagecrew@example.com',
      Destination: { ToAddresses: ['ana@example.com'] },
      Content: {
        Simple: {
          Subject: { Data: 'Approval needed: web-app / Prod / Approve', Charset: 'UTF-8' },
          Body: {
            Text: {
              Data: expect.stringContaining(
                `https://approvals.example.com/approvals/${id}?k=k2&r=ana%40example.com&e=`,
              ),
              Charset: 'UTF-8',
            },
            Html: { Data: expect.any(String), Charset: 'UTF-8' },
          },
        },
      },
    });
    expect(sends[1]?.Destination).toEqual({ ToAddresses: ['bo@example.com'] });
    expect(JSON.stringify(sends)).not.toContain('EXAMPLETOKEN');
    expect(bodies).toHaveLength(1);
    expect(bodies[0]?.url).toBe('https://slack.example/api/chat.postMessage');
    expect(bodies[0]?.body).toMatchObject({ channel: 'C0DEPLOYS', unfurl_links: false, unfurl_media: false });
    const actions = (
      (bodies[0]?.body.blocks ?? []) as Array<{ type: string; elements?: Array<{ action_id: string; value: string }> }>
    ).find((b) => b.type === 'actions');
    expect(actions?.elements?.map((e) => [e.action_id, e.value])).toEqual([
      ['stagecrew_approve', id],
      ['stagecrew_reject', id],
    ]);
    expect(JSON.stringify(bodies)).not.toContain('EXAMPLETOKEN');
  });
});

describe('DynamoDB parameters', () => {
  const doc = createDocumentClient(new DynamoDBClient({ region: 'us-east-2' }));

  it('creates the approval with the dashboard attributes, gsi1 by pipeline/execution and a ttl, conditionally', async () => {
    const docMock = mockClient(doc);
    docMock.on(PutCommand).resolves({});
    const store = new DynamoApprovalStore(doc, 'state');
    const r = pendingRecord({ expiresAt: '2026-03-09T10:00:00.000Z' });
    await store.create(r);
    const puts = docMock.commandCalls(PutCommand).map((c) => c.args[0].input);
    expect(puts[0]).toEqual({
      TableName: 'state',
      Item: { pk: 'APPROVALS_PENDING', sk: r.id, ttl: 1773050400 + 2_592_000 },
    });
    expect(puts[1]).toEqual({
      TableName: 'state',
      Item: {
        ...r,
        pk: `APPROVAL#${r.id}`,
        sk: 'META',
        type: 'approval',
        gsi1pk: 'APPROVALS#web',
        gsi1sk: `exec-1#Prod#Approve#${r.id}`,
        ttl: 1773050400 + 2_592_000,
        writeId: expect.stringMatching(/^[0-9a-f]{24}$/),
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    docMock.restore();
  });

  it('begins a decision with a conditional PENDING → DECIDING update (quorum in the condition)', async () => {
    const docMock = mockClient(doc);
    docMock.on(UpdateCommand).resolves({ Attributes: { ...pendingRecord(), status: 'DECIDING' } });
    const store = new DynamoApprovalStore(doc, 'state');
    await store.beginDecision('appr_1', new Date(NOW), {
      minApprovals: 2,
      staleBefore: new Date('2026-03-02T09:59:00Z'),
    });
    expect(docMock.commandCalls(UpdateCommand)[0]?.args[0].input).toEqual({
      TableName: 'state',
      Key: { pk: 'APPROVAL#appr_1', sk: 'META' },
      ReturnValues: 'ALL_NEW',
      UpdateExpression: 'SET #s = :deciding, decidingSince = :now, decidingBy = :me, version = version + :one',
      ConditionExpression:
        '(#s = :pending AND approveCount >= :min) OR (#s = :deciding AND decidingSince < :stale) OR (#s = :deciding AND decidingBy = :me)',
      ExpressionAttributeNames: { '#s': 'status' },
      ExpressionAttributeValues: {
        ':pending': 'PENDING',
        ':deciding': 'DECIDING',
        ':now': NOW,
        ':me': expect.stringMatching(/^[0-9a-f]{24}$/),
        ':stale': '2026-03-02T09:59:00.000Z',
        ':one': 1,
        ':min': 2,
      },
    });
    docMock.restore();
  });
});
