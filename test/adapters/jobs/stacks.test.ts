import { CloudFormationClient, DescribeStacksCommand, UpdateStackCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  CloudFormationStacks,
  DynamoTeardownRegistry,
  StackBusyError,
} from '../../../functions/core/adapters/stacks.ts';
import { PermissionError, UnavailableError } from '../../../functions/core/errors.ts';
import { JobFailedError } from '../../../functions/core/jobs/errors.ts';

const cfn = mockClient(CloudFormationClient);
const ddb = mockClient(DynamoDBDocumentClient);
const STACK_ID = 'arn:aws:cloudformation:us-east-1:111111111111:stack/test-app/1a2b';
const stacks = () => new CloudFormationStacks(new CloudFormationClient({ region: 'us-east-1' }));
const cfnError = (name: string, message: string, status = 400) =>
  Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });

const described = {
  StackId: STACK_ID,
  StackName: 'test-app',
  StackStatus: 'CREATE_COMPLETE' as const,
  CreationTime: new Date(),
  Outputs: [{ OutputKey: 'ApiUrl', OutputValue: 'https://x' }],
  Tags: [{ Key: 'team', Value: 'web' }],
  Parameters: [
    { ParameterKey: 'Env', ParameterValue: 'test' },
    { ParameterKey: 'Size', ParameterValue: '2' },
  ],
  Capabilities: ['CAPABILITY_IAM' as const, 'CAPABILITY_AUTO_EXPAND' as const],
};

describe('CloudFormationStacks', () => {
  beforeEach(() => cfn.reset());

  it('describes a stack into outputs, tags, parameter keys and capabilities', async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'test-app' }).resolves({ Stacks: [described] });
    expect(await stacks().describe('test-app')).toEqual({
      stackId: STACK_ID,
      stackName: 'test-app',
      status: 'CREATE_COMPLETE',
      outputs: { ApiUrl: 'https://x' },
      tags: { team: 'web' },
      parameterKeys: ['Env', 'Size'],
      capabilities: ['CAPABILITY_IAM', 'CAPABILITY_AUTO_EXPAND'],
    });
  });

  it('returns undefined for a stack that does not exist', async () => {
    cfn.on(DescribeStacksCommand).rejects(cfnError('ValidationError', 'Stack with id nope does not exist'));
    expect(await stacks().describe('nope')).toBeUndefined();
  });

  it('translates denied and throttled describes', async () => {
    cfn
      .on(DescribeStacksCommand)
      .rejectsOnce(cfnError('AccessDenied', 'no'))
      .rejectsOnce(cfnError('Throttling', 'Rate exceeded'));
    await expect(stacks().describe('a')).rejects.toThrow(PermissionError);
    await expect(stacks().describe('a')).rejects.toThrow(UnavailableError);
  });

  it('tags with UpdateStack keeping the template, every parameter and the capabilities, merging tags', async () => {
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [described] });
    cfn.on(UpdateStackCommand).resolves({ StackId: STACK_ID });
    const s = stacks();
    const stack = await s.describe('test-app');
    if (!stack) throw new Error('expected a stack');
    expect(await s.updateTags(stack, { 'stagecrew:managed': 'true', 'stagecrew:pipeline': 'p' })).toBe('updating');
    expect(cfn.commandCalls(UpdateStackCommand)[0]?.args[0].input).toEqual({
      StackName: STACK_ID,
      UsePreviousTemplate: true,
      Parameters: [
        { ParameterKey: 'Env', UsePreviousValue: true },
        { ParameterKey: 'Size', UsePreviousValue: true },
      ],
      Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_AUTO_EXPAND'],
      Tags: [
        { Key: 'team', Value: 'web' },
        { Key: 'stagecrew:managed', Value: 'true' },
        { Key: 'stagecrew:pipeline', Value: 'p' },
      ],
    });
  });

  it('maps "No updates are to be performed" to unchanged, a busy stack to StackBusyError', async () => {
    const stack = {
      stackId: STACK_ID,
      stackName: 'test-app',
      status: 'CREATE_COMPLETE',
      outputs: {},
      tags: {},
      parameterKeys: [],
      capabilities: [],
    };
    cfn
      .on(UpdateStackCommand)
      .rejectsOnce(cfnError('ValidationError', 'No updates are to be performed.'))
      .rejectsOnce(cfnError('ValidationError', 'Stack:arn... is in UPDATE_IN_PROGRESS state and can not be updated.'))
      .rejectsOnce(cfnError('InsufficientCapabilitiesException', 'Requires capabilities : [CAPABILITY_NAMED_IAM]'));
    expect(await stacks().updateTags(stack, { a: 'b' })).toBe('unchanged');
    await expect(stacks().updateTags(stack, { a: 'b' })).rejects.toThrow(StackBusyError);
    await expect(stacks().updateTags(stack, { a: 'b' })).rejects.toThrow(JobFailedError);
    // No capabilities on the stack: the parameter is left out rather than sent empty.
    expect(cfn.commandCalls(UpdateStackCommand)[0]?.args[0].input).not.toHaveProperty('Capabilities');
  });
});

describe('DynamoTeardownRegistry', () => {
  beforeEach(() => ddb.reset());

  it('writes the teardown record the teardown workflow reads', async () => {
    ddb.on(PutCommand).resolves({});
    const registry = new DynamoTeardownRegistry(
      DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })),
      'state',
    );
    await registry.register({
      pipeline: 'awscicd-pipeline',
      executionId: '3a1c2b4d-1111-2222-3333-444455556666',
      stackName: 'test-app',
      stackId: STACK_ID,
      expiresAt: '2026-11-23T18:00:00.000Z',
      registeredAt: '2026-11-23T10:00:00.000Z',
      jobId: 'job-1',
    });
    expect(ddb.commandCalls(PutCommand)[0]?.args[0].input).toEqual({
      TableName: 'state',
      Item: {
        pk: 'TEARDOWN#awscicd-pipeline#3a1c2b4d-1111-2222-3333-444455556666',
        sk: `STACK#${STACK_ID}`,
        type: 'teardown-registration',
        stackName: 'test-app',
        stackId: STACK_ID,
        pipeline: 'awscicd-pipeline',
        executionId: '3a1c2b4d-1111-2222-3333-444455556666',
        expiresAt: '2026-11-23T18:00:00.000Z',
        registeredAt: '2026-11-23T10:00:00.000Z',
        jobId: 'job-1',
        ttl: Date.parse('2026-11-23T18:00:00.000Z') / 1000 + 30 * 24 * 3600,
      },
    });
  });

  it('keeps a record without expiry for a day plus the retention', async () => {
    ddb.on(PutCommand).resolves({});
    const registry = new DynamoTeardownRegistry(
      DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })),
      'state',
    );
    await registry.register({
      pipeline: 'p',
      executionId: 'e',
      stackName: 's',
      stackId: STACK_ID,
      registeredAt: '2026-11-23T10:00:00.000Z',
      jobId: 'j',
    });
    const item = ddb.commandCalls(PutCommand)[0]?.args[0].input.Item;
    expect(item?.ttl).toBe(Date.parse('2026-11-24T10:00:00.000Z') / 1000 + 30 * 24 * 3600);
    expect(item?.expiresAt).toBeUndefined();
  });
});
