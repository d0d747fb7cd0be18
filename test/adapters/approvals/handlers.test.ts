import { readFileSync } from 'node:fs';
import {
  CodePipelineClient,
  GetPipelineExecutionCommand,
  GetPipelineStateCommand,
  PutApprovalResultCommand,
} from '@aws-sdk/client-codepipeline';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { approvalIdFor } from '#core/approvals/model';
import { NOW, pendingRecord } from '../../unit/approvals/fakes.ts';
import { formFor, linkFor, postForm } from '../../unit/approvals/helpers.ts';

/**
 * The composition roots, wired to mocked AWS clients: settings from SSM, secrets from Secrets Manager through
 * Powertools parameters, the DynamoDB store, CodePipeline, SES and EventBridge. Proves the handlers are assembled
 * correctly (environment, secrets, adapters), not just the use cases.
 */
const ssm = mockClient(SSMClient);
const secrets = mockClient(SecretsManagerClient);
const doc = mockClient(DynamoDBDocumentClient);
const cp = mockClient(CodePipelineClient);
const ses = mockClient(SESv2Client);
const events = mockClient(EventBridgeClient);
const fetchMock = vi.fn(async () => new Response(JSON.stringify({ ok: true, channel: 'C0DEPLOYS', ts: '1.2' })));

const context = {
  functionName: 'fn',
  functionVersion: '1',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:fn',
  memoryLimitInMB: '512',
  awsRequestId: 'req-1',
  logGroupName: 'g',
  logStreamName: 's',
  getRemainingTimeInMillis: () => 10_000,
  callbackWaitsForEmptyEventLoop: true,
  done: () => {},
  fail: () => {},
  succeed: () => {},
} as unknown as Context;

beforeAll(() => {
  vi.stubGlobal('fetch', fetchMock);
  Object.assign(process.env, {
    SETTINGS_PARAMETER_NAME: '/stagecrew/settings',
    SECRETS_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:stagecrew',
    STATE_TABLE_NAME: 'state',
    STAGECREW_ACCOUNT_ID: '123456789012',
    SLACK_API_URL: 'https://slack.example/api',
    PUBLIC_BASE_URL: 'https://approvals.example.com',
  });
  ssm.on(GetParameterCommand).resolves({
    Parameter: {
      Value: JSON.stringify({
        approvals: { defaults: { slackChannels: ['C0DEPLOYS'], emails: ['ana@example.com', 'bo@example.com'] } },
        notifications: { emailSender: 'stagecrew@example.com' },
      }),
    },
  });
  secrets.on(GetSecretValueCommand).resolves({
    SecretString: JSON.stringify({
      linkKeyId: 'k2',
      linkSigningKey: 'current-link-signing-key-0123456789abcdef',
      previousLinkKeys: { k1: 'previous-link-signing-key-0123456789abcdef' },
      slackBotToken: 'xoxb-test',
      slackSigningSecret: 'slack-signing-secret-for-tests',
    }),
  });
});

afterAll(() => {
  vi.unstubAllGlobals();
});

describe('approval-request handler', () => {
  it('turns the SNS fixture into a stored approval, a Slack message and two emails', async () => {
    doc.on(GetCommand).resolves({});
    doc.on(PutCommand).resolves({});
    doc.on(UpdateCommand).resolves({});
    cp.on(GetPipelineStateCommand).resolves({ stageStates: [] });
    cp.on(GetPipelineExecutionCommand).resolves({});
    ses.on(SendEmailCommand).resolves({ MessageId: 'm' });
    const { handler } = await import('../../../functions/approval-request/handler.ts');
    const event = JSON.parse(readFileSync('events/sns-approval-sequential.json', 'utf8'));
    const out = await handler(event, context);
    const id = approvalIdFor('1a2b3c4d-573f-4ea7-a67e-EXAMPLETOKEN');
    expect(out).toEqual({ outcomes: [{ kind: 'created', id }] });
    const created = doc.commandCalls(PutCommand).find((c) => c.args[0].input.Item?.sk === 'META');
    expect(created?.args[0].input.Item).toMatchObject({ type: 'approval', id, status: 'PENDING', pipeline: 'web-app' });
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(2);
    expect(fetchMock).toHaveBeenCalledWith(
      'https://slack.example/api/chat.postMessage',
      expect.objectContaining({ method: 'POST' }),
    );
  });

  it('fails loudly (ValidationError) on an event it does not understand', async () => {
    const { handler } = await import('../../../functions/approval-request/handler.ts');
    await expect(handler({ hello: 'world' }, context)).rejects.toMatchObject({ name: 'ValidationError' });
  });
});

describe('approval-api handler', () => {
  it('records an emailed decision and calls PutApprovalResult once', async () => {
    // The handler runs on the real clock: the approval waits a day from now.
    const now = new Date();
    const record = pendingRecord({ expiresAt: new Date(now.getTime() + 86_400_000).toISOString() });
    doc.reset();
    doc.on(GetCommand).resolves({ Item: { ...record, pk: `APPROVAL#${record.id}`, sk: 'META', type: 'approval' } });
    doc.on(PutCommand).resolves({});
    doc.on(UpdateCommand).callsFake((input: { UpdateExpression: string }) => ({
      Attributes: input.UpdateExpression.startsWith('SET approveCount')
        ? { ...record, approveCount: 1, approvers: ['ana@example.com'] }
        : input.UpdateExpression.startsWith('SET #s = :deciding')
          ? { ...record, status: 'DECIDING', approveCount: 1, approvers: ['ana@example.com'] }
          : { ...record, status: 'APPROVED', decidedBy: 'ana@example.com', decidedAt: NOW },
    }));
    cp.on(PutApprovalResultCommand).resolves({ approvedAt: new Date() });
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0 });
    const { handler } = await import('../../../functions/approval-api/handler.ts');
    const link = linkFor(record.id, 'ana@example.com', new Date(now.getTime() + 3600_000));
    const res = (await handler(
      postForm(record.id, formFor(record.id, link, 'approve', 'ok', now)),
      context,
    )) as APIGatewayProxyStructuredResultV2;
    expect(res.statusCode).toBe(200);
    expect(cp.commandCalls(PutApprovalResultCommand)).toHaveLength(1);
    expect(events.commandCalls(PutEventsCommand)).toHaveLength(1);
  });
});

describe('approval-reminders handler', () => {
  it('expires an overdue approval from the worklist and edits its Slack message', async () => {
    const record = pendingRecord({ expiresAt: '2026-01-01T00:00:00.000Z', slackPosts: [{ channel: 'C1', ts: '1.1' }] });
    doc.reset();
    doc.on(QueryCommand).resolves({ Items: [{ pk: 'APPROVALS_PENDING', sk: record.id }] });
    doc.on(GetCommand).resolves({ Item: { ...record, pk: `APPROVAL#${record.id}`, sk: 'META', type: 'approval' } });
    doc
      .on(UpdateCommand)
      .resolves({ Attributes: { ...record, status: 'EXPIRED', closedReason: 'no decision before the deadline' } });
    doc.on(DeleteCommand).resolves({});
    doc.on(PutCommand).resolves({});
    fetchMock.mockClear();
    const { handler } = await import('../../../functions/approval-reminders/handler.ts');
    const out = await handler({}, context);
    expect(out).toMatchObject({ expired: [record.id], reminded: [], escalated: [] });
    const update = doc.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(update?.ExpressionAttributeValues).toMatchObject({ ':status': 'EXPIRED' });
    expect(fetchMock).toHaveBeenCalledWith('https://slack.example/api/chat.update', expect.anything());
  });
});
