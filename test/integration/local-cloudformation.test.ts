import {
  CloudFormationClient,
  CreateChangeSetCommand,
  CreateStackCommand,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  DescribeStackEventsCommand,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  GetTemplateCommand,
  ListExportsCommand,
  ListImportsCommand,
  ListStackResourcesCommand,
  ListStacksCommand,
  type Stack,
  UpdateStackCommand,
  UpdateTerminationProtectionCommand,
  ValidateTemplateCommand,
} from '@aws-sdk/client-cloudformation';
import { DeleteObjectCommand, HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestCloud, type TestCloud, waitFor } from '../helpers/local-cloud.ts';

let t: TestCloud;
let cfn: CloudFormationClient;
let s3: S3Client;

const template = `
Parameters:
  Env: { Type: String, Default: it }
Resources:
  Artifacts:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub '\${AWS::StackName}-\${Env}-artifacts'
  Topic:
    Type: AWS::SNS::Topic
Outputs:
  BucketArn:
    Value: !GetAtt Artifacts.Arn
    Export:
      Name: !Sub '\${AWS::StackName}-bucket-arn'
`;

/** Waits until the stack (by name or StackId) has left every *_IN_PROGRESS status. */
const settled = (stack: string) =>
  waitFor(async () => {
    const s = (await cfn.send(new DescribeStacksCommand({ StackName: stack }))).Stacks?.[0];
    return s && !s.StackStatus?.endsWith('_IN_PROGRESS') ? s : undefined;
  }) as Promise<Stack>;

beforeAll(async () => {
  vi.stubEnv('STAGECREW_CFN_DELAY_MS', '10');
  t = await startTestCloud();
  cfn = new CloudFormationClient(t.clientConfig);
  s3 = new S3Client(t.clientConfig);
});
afterAll(async () => {
  cfn?.destroy();
  s3?.destroy();
  await t?.stop();
  vi.unstubAllEnvs();
});

describe('local CloudFormation through the AWS SDK', () => {
  it('creates a stack with a real bucket, then fails the delete while the bucket holds objects', async () => {
    const { StackId } = await cfn.send(
      new CreateStackCommand({
        StackName: 'it-app',
        TemplateBody: template,
        Tags: [{ Key: 'owner', Value: 'stagecrew' }],
      }),
    );
    const created = await settled('it-app');
    expect(created).toMatchObject({
      StackId,
      StackStatus: 'CREATE_COMPLETE',
      Tags: [{ Key: 'owner', Value: 'stagecrew' }],
    });
    expect(created.Outputs).toEqual([
      { OutputKey: 'BucketArn', OutputValue: 'arn:aws:s3:::it-app-it-artifacts', ExportName: 'it-app-bucket-arn' },
    ]);
    expect(created.CreationTime).toBeInstanceOf(Date);
    await s3.send(new HeadBucketCommand({ Bucket: 'it-app-it-artifacts' }));
    const resources = await cfn.send(new ListStackResourcesCommand({ StackName: 'it-app' }));
    expect(resources.StackResourceSummaries?.map((r) => r.LogicalResourceId)).toEqual(['Artifacts', 'Topic']);
    expect((await cfn.send(new GetTemplateCommand({ StackName: 'it-app' }))).TemplateBody).toBe(template);
    await expect(
      cfn.send(new UpdateStackCommand({ StackName: 'it-app', UsePreviousTemplate: true })),
    ).rejects.toMatchObject({
      name: 'ValidationError',
      message: 'No updates are to be performed.',
    });

    await s3.send(new PutObjectCommand({ Bucket: 'it-app-it-artifacts', Key: 'build.zip', Body: 'zip' }));
    await cfn.send(new DeleteStackCommand({ StackName: StackId, ClientRequestToken: 'it-teardown-1' }));
    const failed = await settled(StackId as string);
    expect(failed).toMatchObject({
      StackStatus: 'DELETE_FAILED',
      StackStatusReason: 'The following resource(s) failed to delete: [Artifacts]. ',
    });
    const described = await cfn.send(new DescribeStackResourcesCommand({ StackName: StackId }));
    expect(described.StackResources?.find((r) => r.LogicalResourceId === 'Artifacts')?.ResourceStatusReason).toContain(
      'The bucket you tried to delete is not empty',
    );
    const events = await cfn.send(new DescribeStackEventsCommand({ StackName: StackId }));
    expect(events.StackEvents?.[0]).toMatchObject({
      ResourceStatus: 'DELETE_FAILED',
      ClientRequestToken: 'it-teardown-1',
    });

    await s3.send(new DeleteObjectCommand({ Bucket: 'it-app-it-artifacts', Key: 'build.zip' }));
    await cfn.send(new DeleteStackCommand({ StackName: StackId }));
    expect((await settled(StackId as string)).StackStatus).toBe('DELETE_COMPLETE');
    await expect(cfn.send(new DescribeStacksCommand({ StackName: 'it-app' }))).rejects.toMatchObject({
      name: 'ValidationError',
      message: 'Stack with id it-app does not exist',
    });
    const deleted = await cfn.send(new ListStacksCommand({ StackStatusFilter: ['DELETE_COMPLETE'] }));
    expect(deleted.StackSummaries?.map((s) => s.StackId)).toContain(StackId);
    // DeleteStack of a stack that no longer exists succeeds, as on AWS.
    await cfn.send(new DeleteStackCommand({ StackName: 'it-app' }));
  });

  it('blocks deleting an export in use and a termination-protected stack', async () => {
    const { StackId: producer } = await cfn.send(
      new CreateStackCommand({ StackName: 'it-net', TemplateBody: template, EnableTerminationProtection: true }),
    );
    await settled('it-net');
    await cfn.send(
      new CreateStackCommand({
        StackName: 'it-svc',
        TemplateBody: JSON.stringify({
          Resources: { Q: { Type: 'AWS::SQS::Queue' } },
          Outputs: { B: { Value: { 'Fn::ImportValue': 'it-net-bucket-arn' } } },
        }),
      }),
    );
    await settled('it-svc');
    expect((await cfn.send(new ListImportsCommand({ ExportName: 'it-net-bucket-arn' }))).Imports).toEqual(['it-svc']);
    expect((await cfn.send(new ListExportsCommand({}))).Exports?.map((e) => e.Name)).toContain('it-net-bucket-arn');

    await expect(cfn.send(new DeleteStackCommand({ StackName: 'it-net' }))).rejects.toMatchObject({
      name: 'ValidationError',
      message: 'Stack [it-net] cannot be deleted while TerminationProtection is enabled',
    });
    await cfn.send(new UpdateTerminationProtectionCommand({ StackName: 'it-net', EnableTerminationProtection: false }));
    await cfn.send(new DeleteStackCommand({ StackName: producer }));
    await waitFor(async () => {
      const s = (await cfn.send(new DescribeStacksCommand({ StackName: producer }))).Stacks?.[0];
      return s?.StackStatusReason?.startsWith('Export') ? s : undefined;
    });
    expect(await settled(producer as string)).toMatchObject({
      StackStatus: 'CREATE_COMPLETE',
      StackStatusReason: 'Export it-net-bucket-arn cannot be deleted as it is in use by it-svc',
    });
  });

  it('validates templates and runs a CREATE change set', async () => {
    const validated = await cfn.send(new ValidateTemplateCommand({ TemplateBody: template }));
    expect(validated.Parameters).toEqual([{ ParameterKey: 'Env', DefaultValue: 'it', NoEcho: false }]);
    await expect(cfn.send(new ValidateTemplateCommand({ TemplateBody: '{"Resources": {}}' }))).rejects.toMatchObject({
      name: 'ValidationError',
    });
    await expect(
      cfn.send(
        new CreateStackCommand({
          StackName: 'it-iam',
          TemplateBody: JSON.stringify({ Resources: { R: { Type: 'AWS::IAM::Role' } } }),
        }),
      ),
    ).rejects.toMatchObject({ name: 'InsufficientCapabilitiesException' });

    const cs = await cfn.send(
      new CreateChangeSetCommand({
        StackName: 'it-cs',
        ChangeSetName: 'first',
        ChangeSetType: 'CREATE',
        TemplateBody: template,
      }),
    );
    expect((await cfn.send(new DescribeStacksCommand({ StackName: 'it-cs' }))).Stacks?.[0]?.StackStatus).toBe(
      'REVIEW_IN_PROGRESS',
    );
    const described = await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: cs.Id }));
    expect(described).toMatchObject({ Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE' });
    expect(described.Changes?.map((c) => c.ResourceChange?.LogicalResourceId)).toEqual(['Artifacts', 'Topic']);
    await cfn.send(new ExecuteChangeSetCommand({ ChangeSetName: cs.Id }));
    expect((await settled('it-cs')).StackStatus).toBe('CREATE_COMPLETE');
  });

  it('resolves a change set by stack name to the stack that holds the name now, after the name is reused', async () => {
    const body = JSON.stringify({ Resources: { Topic: { Type: 'AWS::SNS::Topic' } } });
    const create = () =>
      cfn.send(
        new CreateChangeSetCommand({
          StackName: 'it-reuse',
          ChangeSetName: 'pending',
          ChangeSetType: 'CREATE',
          TemplateBody: body,
        }),
      );
    const old = await create();
    await cfn.send(new DeleteStackCommand({ StackName: 'it-reuse' }));
    await waitFor(async () => {
      const all = (await cfn.send(new ListStacksCommand({}))).StackSummaries ?? [];
      return all.find((x) => x.StackId === old.StackId && x.StackStatus === 'DELETE_COMPLETE');
    });
    const reused = await create();
    expect(reused.StackId).not.toBe(old.StackId);

    // CloudFormation's documented form: the change set's name and the stack's name.
    await cfn.send(new DeleteChangeSetCommand({ StackName: 'it-reuse', ChangeSetName: 'pending' }));
    await expect(cfn.send(new DescribeChangeSetCommand({ ChangeSetName: reused.Id }))).rejects.toMatchObject({
      name: 'ChangeSetNotFoundException',
    });
    await expect(
      cfn.send(new DescribeChangeSetCommand({ StackName: 'it-reuse', ChangeSetName: 'pending' })),
    ).rejects.toMatchObject({ name: 'ChangeSetNotFoundException' });
  });
});
