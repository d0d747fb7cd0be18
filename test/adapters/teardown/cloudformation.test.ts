import {
  CloudFormationClient,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ListStackResourcesCommand,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CloudFormationTeardown } from '#core/adapters/cloudformation';
import { UnavailableError, ValidationError } from '#core/errors';

const cfn = mockClient(CloudFormationClient);
const id = 'arn:aws:cloudformation:us-east-1:123456789012:stack/test-a/0a1b2c3d-0000-1111-2222-333344445555';
const awsError = (name: string, message: string) => Object.assign(new Error(message), { name, $metadata: {} });
const adapter = () => new CloudFormationTeardown(new CloudFormationClient({}));

describe('CloudFormationTeardown', () => {
  beforeEach(() => cfn.reset());

  it('describes by StackId with tags, protection and parent', async () => {
    cfn.on(DescribeStacksCommand, { StackName: id }).resolves({
      Stacks: [
        {
          StackId: id,
          StackName: 'test-a',
          StackStatus: 'DELETE_COMPLETE',
          CreationTime: new Date('2026-01-01T00:00:00Z'),
          EnableTerminationProtection: false,
          Tags: [{ Key: 'stagecrew:managed', Value: 'true' }],
        },
      ],
    });
    expect(await adapter().describe(id)).toEqual({
      stackId: id,
      stackName: 'test-a',
      status: 'DELETE_COMPLETE',
      tags: { 'stagecrew:managed': 'true' },
      terminationProtection: false,
      creationTime: '2026-01-01T00:00:00.000Z',
    });
    expect(cfn).toReceiveCommandWith(DescribeStacksCommand, { StackName: id });
  });

  it('maps "does not exist" to undefined and throttling to UnavailableError', async () => {
    cfn
      .on(DescribeStacksCommand)
      .rejectsOnce(awsError('ValidationError', `Stack with id ${id} does not exist`))
      .rejects(awsError('Throttling', 'Rate exceeded'));
    expect(await adapter().describe(id)).toBeUndefined();
    await expect(adapter().describe(id)).rejects.toBeInstanceOf(UnavailableError);
  });

  it('sends DeleteStack by StackId with the ClientRequestToken only, for a standard delete', async () => {
    cfn.on(DeleteStackCommand).resolves({});
    await adapter().delete({ stackId: id, clientRequestToken: 'stagecrew-abc-1' });
    expect(cfn.commandCalls(DeleteStackCommand)[0]?.args[0].input).toEqual({
      StackName: id,
      ClientRequestToken: 'stagecrew-abc-1',
    });
  });

  it('sends RetainResources, or DeletionMode FORCE_DELETE_STACK, exactly', async () => {
    cfn.on(DeleteStackCommand).resolves({});
    await adapter().delete({ stackId: id, clientRequestToken: 't-2', retainResources: ['Data', 'Sg'] });
    await adapter().delete({ stackId: id, clientRequestToken: 't-3', force: true });
    const calls = cfn.commandCalls(DeleteStackCommand).map((c) => c.args[0].input);
    expect(calls).toEqual([
      { StackName: id, ClientRequestToken: 't-2', RetainResources: ['Data', 'Sg'] },
      { StackName: id, ClientRequestToken: 't-3', DeletionMode: 'FORCE_DELETE_STACK' },
    ]);
  });

  it("passes the deletion role as RoleARN, and reads a stack's own service role from DescribeStacks", async () => {
    const role = 'arn:aws:iam::123456789012:role/stagecrew-deleter';
    cfn.on(DeleteStackCommand).resolves({});
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        { StackId: id, StackName: 'test-a', StackStatus: 'CREATE_COMPLETE', RoleARN: role, CreationTime: undefined },
      ],
    });
    await adapter().delete({ stackId: id, clientRequestToken: 't-4', roleArn: role });
    expect(cfn.commandCalls(DeleteStackCommand)[0]?.args[0].input).toEqual({
      StackName: id,
      ClientRequestToken: 't-4',
      RoleARN: role,
    });
    expect((await adapter().describe(id))?.roleArn).toBe(role);
  });

  it('treats TokenAlreadyExistsException as the same delete; a ValidationError is a typed refusal', async () => {
    cfn
      .on(DeleteStackCommand)
      .rejectsOnce(awsError('TokenAlreadyExistsException', 'A client request token already exists.'))
      .rejects(awsError('ValidationError', 'Stack [test-a] cannot be deleted while TerminationProtection is enabled'));
    await expect(adapter().delete({ stackId: id, clientRequestToken: 't' })).resolves.toBeUndefined();
    await expect(adapter().delete({ stackId: id, clientRequestToken: 't' })).rejects.toBeInstanceOf(ValidationError);
  });

  it('lists resources and recent events across pages', async () => {
    cfn
      .on(ListStackResourcesCommand, { StackName: id })
      .resolvesOnce({
        StackResourceSummaries: [
          {
            LogicalResourceId: 'Data',
            PhysicalResourceId: 'b-1',
            ResourceType: 'AWS::S3::Bucket',
            ResourceStatus: 'DELETE_FAILED',
            LastUpdatedTimestamp: new Date(),
          },
        ],
        NextToken: 'n1',
      })
      .resolves({ StackResourceSummaries: [] });
    cfn.on(DescribeStackEventsCommand).resolves({
      StackEvents: [
        {
          StackId: id,
          EventId: 'e1',
          StackName: 'test-a',
          LogicalResourceId: 'Data',
          ResourceType: 'AWS::S3::Bucket',
          ResourceStatus: 'DELETE_FAILED',
          ResourceStatusReason: 'BucketNotEmpty',
          Timestamp: new Date('2026-01-01T00:00:00Z'),
          ClientRequestToken: 't-1',
        },
      ],
    });
    expect(await adapter().listResources(id)).toEqual([
      { logicalId: 'Data', physicalId: 'b-1', type: 'AWS::S3::Bucket', status: 'DELETE_FAILED' },
    ]);
    expect(cfn).toReceiveCommandWith(ListStackResourcesCommand, { StackName: id, NextToken: 'n1' });
    expect(await adapter().recentEvents(id, 10)).toEqual([
      {
        logicalId: 'Data',
        type: 'AWS::S3::Bucket',
        status: 'DELETE_FAILED',
        reason: 'BucketNotEmpty',
        timestamp: '2026-01-01T00:00:00.000Z',
        clientRequestToken: 't-1',
      },
    ]);
    expect(cfn).toReceiveCommandWith(DescribeStackEventsCommand, { StackName: id });
  });
});
