import {
  CodePipelineClient,
  GetPipelineExecutionCommand,
  ListActionExecutionsCommand,
} from '@aws-sdk/client-codepipeline';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fixture } from '../timeline/fixtures.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const ssm = mockClient(SSMClient);
const sfn = mockClient(SFNClient);
const cp = mockClient(CodePipelineClient);

const context = {
  functionName: 'PipelineEventsFunction',
  awsRequestId: 'req-1',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:PipelineEventsFunction',
} as Context;

describe('pipeline-events handler (composition root)', () => {
  beforeAll(() => {
    vi.stubEnv('STATE_TABLE_NAME', 'state');
    vi.stubEnv('STAGECREW_ACCOUNT_ID', '123456789012');
    vi.stubEnv('SETTINGS_PARAMETER_NAME', '/stagecrew/settings');
    vi.stubEnv('SECRETS_ARN', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:stagecrew');
    vi.stubEnv('SLACK_API_URL', 'https://slack.example.com/api');
    vi.stubEnv('TEARDOWN_STATE_MACHINE_ARN', 'arn:aws:states:us-east-1:123456789012:stateMachine:Teardown');
  });
  afterAll(() => vi.unstubAllEnvs());

  it('parses, claims, records and triggers teardown through the real adapters', async () => {
    // Prepare: no notification rules, so no Slack/SES traffic; everything else answers.
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: JSON.stringify({ version: 1 }) } });
    ddb.on(UpdateCommand).resolves({ Attributes: {} });
    ddb.on(GetCommand).resolves({});
    ddb.on(PutCommand).resolves({});
    ddb.on(QueryCommand).resolves({ Items: [] });
    sfn.on(StartExecutionCommand).resolves({});
    cp.on(GetPipelineExecutionCommand).resolves({});
    cp.on(ListActionExecutionsCommand).resolves({});
    const { handler } = await import('../../../functions/pipeline-events/handler.ts');
    // Act
    const out = await handler(fixture('pipeline-failed'), context);
    // Assess
    expect(out).toMatchObject({
      status: 'processed',
      advanced: true,
      teardown: 'started',
      notification: { status: 'no-route' },
      figures: [{ name: 'Failures', unit: 'Count', value: 1, stage: '(execution)' }],
    });
    // The execution's delivery summary, indexed under its pipeline by its anchor time.
    expect(ddb).toHaveReceivedCommandWith(PutCommand, {
      TableName: 'state',
      Item: expect.objectContaining({ sk: 'DELIVERY', gsi1pk: 'DELIVERY#myPipeline', type: 'delivery-summary' }),
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    expect(ddb).toHaveReceivedCommandWith(PutCommand, {
      TableName: 'state',
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
  });

  it('rejects a malformed event with a ValidationError', async () => {
    const { handler } = await import('../../../functions/pipeline-events/handler.ts');
    await expect(handler(fixture('invalid-arn-execution-id'), context)).rejects.toMatchObject({
      name: 'ValidationError',
    });
  });
});
