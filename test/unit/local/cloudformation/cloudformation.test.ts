import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCloudFormationService } from '#local/services/cloudformation/index';
import { createS3Service } from '#local/services/s3/index';
import type { Operation, QueryService, RestService } from '#local/services/types';
import { MemoryStore } from '#local/store/store';
import { makeContext, type TestContext } from '../s3/context.ts';

let dir: string;
let s3: RestService;
let cfn: QueryService;
let ctx: TestContext;

const DELAY_MS = 2;
const cf = async (op: string, input: Record<string, unknown>) =>
  (await cfn.operations[op]?.(input, ctx)) as Record<string, unknown>;
const s3op = async (op: string, input: Record<string, unknown>) =>
  (await s3.operations?.[op]?.(input, ctx)) as Record<string, unknown>;
type Stack = {
  StackId: string;
  StackName: string;
  StackStatus: string;
  StackStatusReason?: string;
  Outputs?: Array<Record<string, string>>;
};
const describe1 = async (name: string) =>
  ((await cf('DescribeStacks', { StackName: name })).Stacks as Stack[])[0] as Stack;

/** Polls until the stack reaches a status that is not *_IN_PROGRESS (the timers run with a 2 ms step). */
const settle = async (name: string): Promise<Stack> => {
  const deadline = Date.now() + 2000;
  for (;;) {
    const stack = await describe1(name);
    if (!stack.StackStatus.endsWith('_IN_PROGRESS')) return stack;
    if (Date.now() > deadline) throw new Error(`stack ${name} still ${stack.StackStatus}`);
    await new Promise((r) => setTimeout(r, 2));
  }
};

const statusEvents = (stackId?: string) =>
  ctx.events
    .filter((e) => e.DetailType === 'CloudFormation Stack Status Change')
    .map(
      (e) =>
        JSON.parse(e.Detail) as {
          'stack-id': string;
          'status-details': { status: string; 'status-reason': string };
          'client-request-token'?: string;
        },
    )
    .filter((d) => !stackId || d['stack-id'] === stackId);

const bucketTemplate = JSON.stringify({
  Parameters: { Env: { Type: 'String', Default: 'test' } },
  Resources: {
    Artifacts: {
      Type: 'AWS::S3::Bucket',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax, not a JS template
      Properties: { BucketName: { 'Fn::Sub': '${AWS::StackName}-${Env}-artifacts' } },
    },
    Topic: { Type: 'AWS::SNS::Topic' },
  },
  Outputs: {
    BucketName: { Value: { Ref: 'Artifacts' } },
    BucketArn: {
      Value: { 'Fn::GetAtt': ['Artifacts', 'Arn'] },
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax, not a JS template
      Export: { Name: { 'Fn::Sub': '${AWS::StackName}-bucket-arn' } },
    },
    TopicArn: { Value: { Ref: 'Topic' } },
  },
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cfn-test-'));
  s3 = createS3Service({ dataDir: dir });
  cfn = createCloudFormationService({ delayMs: DELAY_MS });
  ctx = makeContext({ services: [s3, cfn] });
});
afterEach(() => {
  cfn.stop?.();
  rmSync(dir, { recursive: true, force: true });
});

describe('local CloudFormation', () => {
  it('creates a stack through realistic statuses, with a real bucket, outputs and status change events', async () => {
    const { StackId } = await cf('CreateStack', {
      StackName: 'app',
      TemplateBody: bucketTemplate,
      Tags: [{ Key: 'owner', Value: 'me' }],
    });
    expect(StackId).toMatch(/^arn:aws:cloudformation:us-east-1:123456789012:stack\/app\/[0-9a-f-]{36}$/);
    expect((await describe1('app')).StackStatus).toBe('CREATE_IN_PROGRESS');
    const stack = await settle('app');
    expect(stack.StackStatus).toBe('CREATE_COMPLETE');
    expect(stack.Outputs).toEqual(
      expect.arrayContaining([
        { OutputKey: 'BucketName', OutputValue: 'app-test-artifacts' },
        { OutputKey: 'BucketArn', OutputValue: 'arn:aws:s3:::app-test-artifacts', ExportName: 'app-bucket-arn' },
        {
          OutputKey: 'TopicArn',
          OutputValue: expect.stringMatching(/^arn:aws:sns:us-east-1:123456789012:app-Topic-[A-Z0-9]{12}$/),
        },
      ]),
    );
    await expect(s3op('HeadBucket', { Bucket: 'app-test-artifacts' })).resolves.toBeDefined();
    expect(statusEvents(StackId as string).map((d) => d['status-details'].status)).toEqual([
      'CREATE_IN_PROGRESS',
      'CREATE_COMPLETE',
    ]);
    const event = ctx.events.find((e) => e.DetailType === 'CloudFormation Stack Status Change');
    expect(event).toMatchObject({ Source: 'aws.cloudformation', Resources: [StackId] });
    expect(ctx.events.some((e) => e.DetailType === 'CloudFormation Resource Status Change')).toBe(true);

    const resources = (await cf('ListStackResources', { StackName: 'app' })).StackResourceSummaries as Array<
      Record<string, string>
    >;
    expect(resources.map((r) => [r.LogicalResourceId, r.ResourceStatus])).toEqual([
      ['Artifacts', 'CREATE_COMPLETE'],
      ['Topic', 'CREATE_COMPLETE'],
    ]);
    const events = (await cf('DescribeStackEvents', { StackName: 'app' })).StackEvents as Array<Record<string, string>>;
    expect(events[0]).toMatchObject({ LogicalResourceId: 'app', ResourceStatus: 'CREATE_COMPLETE' });
    expect(events.at(-1)).toMatchObject({
      ResourceStatus: 'CREATE_IN_PROGRESS',
      ResourceStatusReason: 'User Initiated',
    });

    await expect(cf('CreateStack', { StackName: 'app', TemplateBody: bucketTemplate })).rejects.toMatchObject({
      code: 'AlreadyExistsException',
    });
  });

  it('deletes by token, then describes the deleted stack only by its StackId', async () => {
    const { StackId } = await cf('CreateStack', { StackName: 'gone', TemplateBody: bucketTemplate });
    await settle('gone');
    await cf('DeleteStack', { StackName: StackId, ClientRequestToken: 'teardown-1' });
    await cf('DeleteStack', { StackName: StackId, ClientRequestToken: 'teardown-1' }); // a retry is a no-op
    await expect(settle(StackId as string)).resolves.toMatchObject({ StackStatus: 'DELETE_COMPLETE' });
    const deleteEvents = statusEvents(StackId as string).slice(-2);
    expect(deleteEvents).toEqual([
      {
        'stack-id': StackId,
        'status-details': { status: 'DELETE_IN_PROGRESS', 'status-reason': 'User Initiated' },
        'client-request-token': 'teardown-1',
      },
      {
        'stack-id': StackId,
        'status-details': { status: 'DELETE_COMPLETE', 'status-reason': '' },
        'client-request-token': 'teardown-1',
      },
    ]);
    await expect(describe1('gone')).rejects.toMatchObject({
      code: 'ValidationError',
      message: 'Stack with id gone does not exist',
    });
    await expect(s3op('HeadBucket', { Bucket: 'gone-test-artifacts' })).rejects.toMatchObject({ code: 'NoSuchBucket' });
    expect(await cf('DeleteStack', { StackName: 'gone' })).toEqual({});
    const listed = (await cf('ListStacks', { StackStatusFilter: ['DELETE_COMPLETE'] })).StackSummaries as Array<
      Record<string, string>
    >;
    expect(listed.map((s) => s.StackId)).toEqual([StackId]);
    expect(listed[0]?.DeletionTime).toBeDefined();
  });

  it('ends a delete in DELETE_FAILED while the bucket holds objects, and succeeds once it is emptied', async () => {
    const { StackId } = await cf('CreateStack', { StackName: 'full', TemplateBody: bucketTemplate });
    await settle('full');
    await s3op('PutObject', { Bucket: 'full-test-artifacts', Key: 'build.zip', Body: 'zip' });
    await expect(cf('DeleteStack', { StackName: 'full', RetainResources: ['Artifacts'] })).rejects.toMatchObject({
      code: 'ValidationError',
    });
    await expect(cf('DeleteStack', { StackName: 'full', DeletionMode: 'FORCE_DELETE_STACK' })).rejects.toMatchObject({
      message:
        'You can activate DeletionMode FORCE_DELETE_STACK in a delete stack operation only when the stack is in the DELETE_FAILED state.',
    });
    await cf('DeleteStack', { StackName: 'full' });
    const failed = await settle(StackId as string);
    expect(failed).toMatchObject({
      StackStatus: 'DELETE_FAILED',
      StackStatusReason: 'The following resource(s) failed to delete: [Artifacts]. ',
    });
    const resources = (await cf('DescribeStackResources', { StackName: StackId })).StackResources as Array<
      Record<string, string>
    >;
    const bucket = resources.find((r) => r.LogicalResourceId === 'Artifacts');
    expect(bucket?.ResourceStatus).toBe('DELETE_FAILED');
    expect(bucket?.ResourceStatusReason).toMatch(
      /^The bucket you tried to delete is not empty \(Service: Amazon S3; Status Code: 409; Error Code: BucketNotEmpty;/,
    );
    expect(resources.find((r) => r.LogicalResourceId === 'Topic')?.ResourceStatus).toBe('DELETE_COMPLETE');
    // A stack in DELETE_FAILED is still found by name.
    expect((await describe1('full')).StackStatus).toBe('DELETE_FAILED');

    await s3op('DeleteObject', { Bucket: 'full-test-artifacts', Key: 'build.zip' });
    await cf('DeleteStack', { StackName: StackId });
    expect(await settle(StackId as string)).toMatchObject({ StackStatus: 'DELETE_COMPLETE' });
  });

  it('retains or force-deletes resources only from DELETE_FAILED', async () => {
    const { StackId } = await cf('CreateStack', { StackName: 'forced', TemplateBody: bucketTemplate });
    await settle('forced');
    await s3op('PutObject', { Bucket: 'forced-test-artifacts', Key: 'k', Body: 'x' });
    await cf('DeleteStack', { StackName: 'forced' });
    expect((await settle(StackId as string)).StackStatus).toBe('DELETE_FAILED');
    await cf('DeleteStack', { StackName: StackId, DeletionMode: 'FORCE_DELETE_STACK' });
    expect((await settle(StackId as string)).StackStatus).toBe('DELETE_COMPLETE');
    const resources = (await cf('ListStackResources', { StackName: StackId })).StackResourceSummaries as Array<
      Record<string, string>
    >;
    expect(resources.find((r) => r.LogicalResourceId === 'Artifacts')?.ResourceStatus).toBe('DELETE_SKIPPED');
    // The orphaned bucket still exists, as on AWS.
    await expect(s3op('HeadBucket', { Bucket: 'forced-test-artifacts' })).resolves.toBeDefined();
  });

  it('blocks deleting a stack whose export another stack imports, returning it to its previous status', async () => {
    const { StackId: producer } = await cf('CreateStack', { StackName: 'network', TemplateBody: bucketTemplate });
    await settle('network');
    const consumerTemplate = `
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      Tags:
        - Key: bucket
          Value: !ImportValue network-bucket-arn
Outputs:
  Imported:
    Value: !ImportValue network-bucket-arn
`;
    await cf('CreateStack', { StackName: 'service', TemplateBody: consumerTemplate });
    const consumer = await settle('service');
    expect(consumer.StackStatus).toBe('CREATE_COMPLETE');
    expect(consumer.Outputs).toEqual([{ OutputKey: 'Imported', OutputValue: 'arn:aws:s3:::network-test-artifacts' }]);
    expect(await cf('ListImports', { ExportName: 'network-bucket-arn' })).toEqual({ Imports: ['service'] });
    expect((await cf('ListExports', {})).Exports).toEqual([
      { ExportingStackId: producer, Name: 'network-bucket-arn', Value: 'arn:aws:s3:::network-test-artifacts' },
    ]);

    await cf('DeleteStack', { StackName: producer });
    const blocked = await settle(producer as string);
    expect(blocked).toMatchObject({
      StackStatus: 'CREATE_COMPLETE',
      StackStatusReason: 'Export network-bucket-arn cannot be deleted as it is in use by service',
    });
    expect(statusEvents(producer as string).map((d) => d['status-details'].status)).toEqual([
      'CREATE_IN_PROGRESS',
      'CREATE_COMPLETE',
      'DELETE_IN_PROGRESS',
      'CREATE_COMPLETE',
    ]);
    await expect(s3op('HeadBucket', { Bucket: 'network-test-artifacts' })).resolves.toBeDefined();

    await cf('DeleteStack', { StackName: 'service' });
    await settle('service').catch(() => undefined);
    await cf('DeleteStack', { StackName: producer });
    expect((await settle(producer as string)).StackStatus).toBe('DELETE_COMPLETE');
  });

  it('refuses to delete a termination-protected stack', async () => {
    await cf('CreateStack', { StackName: 'prod', TemplateBody: bucketTemplate, EnableTerminationProtection: 'true' });
    await settle('prod');
    await expect(cf('DeleteStack', { StackName: 'prod' })).rejects.toMatchObject({
      code: 'ValidationError',
      message: 'Stack [prod] cannot be deleted while TerminationProtection is enabled',
    });
    await cf('UpdateTerminationProtection', { StackName: 'prod', EnableTerminationProtection: 'false' });
    await cf('DeleteStack', { StackName: 'prod' });
    expect((await settle((await describe1('prod')).StackId)).StackStatus).toBe('DELETE_COMPLETE');
  });

  it('updates with the previous template and new tags, and reports when nothing changes', async () => {
    const { StackId } = await cf('CreateStack', { StackName: 'upd', TemplateBody: bucketTemplate });
    await settle('upd');
    await expect(cf('UpdateStack', { StackName: 'upd', UsePreviousTemplate: 'true' })).rejects.toMatchObject({
      code: 'ValidationError',
      message: 'No updates are to be performed.',
    });
    await cf('UpdateStack', { StackName: 'upd', UsePreviousTemplate: 'true', Tags: [{ Key: 'ttl', Value: '1h' }] });
    const updated = await settle('upd');
    expect(updated.StackStatus).toBe('UPDATE_COMPLETE');
    expect((updated as unknown as { Tags: unknown }).Tags).toEqual([{ Key: 'ttl', Value: '1h' }]);
    expect(
      statusEvents(StackId as string)
        .map((d) => d['status-details'].status)
        .slice(2),
    ).toEqual(['UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'UPDATE_COMPLETE']);

    // Removing the bucket from the template deletes it during cleanup.
    const smaller = JSON.stringify({ Resources: { Topic: { Type: 'AWS::SNS::Topic' } } });
    await cf('UpdateStack', { StackName: 'upd', TemplateBody: smaller });
    expect((await settle('upd')).StackStatus).toBe('UPDATE_COMPLETE');
    await expect(s3op('HeadBucket', { Bucket: 'upd-test-artifacts' })).rejects.toMatchObject({ code: 'NoSuchBucket' });
    expect(((await cf('GetTemplate', { StackName: 'upd' })) as { TemplateBody: string }).TemplateBody).toBe(smaller);
  });

  it('rolls back a failed create', async () => {
    await s3op('CreateBucket', { Bucket: 'taken-name' });
    const template = JSON.stringify({
      Resources: {
        First: { Type: 'AWS::S3::Bucket' },
        Second: { Type: 'AWS::S3::Bucket', Properties: { BucketName: 'taken-name' }, DependsOn: 'First' },
      },
    });
    await cf('CreateStack', { StackName: 'bad', TemplateBody: template });
    const stack = await settle('bad');
    expect(stack).toMatchObject({ StackStatus: 'ROLLBACK_COMPLETE' });
    const events = (await cf('DescribeStackEvents', { StackName: 'bad' })).StackEvents as Array<Record<string, string>>;
    expect(events.find((e) => e.ResourceStatus === 'ROLLBACK_IN_PROGRESS')?.ResourceStatusReason).toBe(
      'The following resource(s) failed to create: [Second]. Rollback requested by user.',
    );
    expect(
      events.find((e) => e.LogicalResourceId === 'Second' && e.ResourceStatus === 'CREATE_FAILED')
        ?.ResourceStatusReason,
    ).toBe('taken-name already exists');
    await expect(cf('UpdateStack', { StackName: 'bad', UsePreviousTemplate: 'true' })).rejects.toMatchObject({
      code: 'ValidationError',
    });
  });

  it('reads YAML with short-form intrinsics from a TemplateURL in the local S3', async () => {
    await s3op('CreateBucket', { Bucket: 'templates' });
    const yaml = `
Parameters:
  Stage: { Type: String, AllowedValues: [dev, prod] }
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Resources:
  Logs:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Join ['-', [!Ref 'AWS::StackName', !Ref Stage, logs]]
  Alarm:
    Type: AWS::SNS::Topic
    Condition: IsProd
Outputs:
  Url:
    Value: !Sub 'https://\${Logs.RegionalDomainName}/\${Stage}'
  Mode:
    Value: !If [IsProd, production, development]
`;
    await s3op('PutObject', { Bucket: 'templates', Key: 'stack.yaml', Body: yaml });
    await expect(
      cf('CreateStack', { StackName: 'yml', TemplateURL: 'http://127.0.0.1:4566/templates/stack.yaml' }),
    ).rejects.toMatchObject({
      message: 'Parameters: [Stage] must have values',
    });
    await expect(
      cf('CreateStack', {
        StackName: 'yml',
        TemplateURL: 'http://127.0.0.1:4566/templates/stack.yaml',
        Parameters: [{ ParameterKey: 'Stage', ParameterValue: 'qa' }],
      }),
    ).rejects.toMatchObject({ message: "Parameter 'Stage' must be one of AllowedValues" });
    await cf('CreateStack', {
      StackName: 'yml',
      TemplateURL: 'https://templates.s3.amazonaws.com/stack.yaml',
      Parameters: [{ ParameterKey: 'Stage', ParameterValue: 'dev' }],
    });
    const stack = await settle('yml');
    expect(stack.StackStatus).toBe('CREATE_COMPLETE');
    expect(stack.Outputs).toEqual([
      { OutputKey: 'Url', OutputValue: 'https://yml-dev-logs.s3.us-east-1.amazonaws.com/dev' },
      { OutputKey: 'Mode', OutputValue: 'development' },
    ]);
    const resources = (await cf('ListStackResources', { StackName: 'yml' })).StackResourceSummaries as unknown[];
    expect(resources).toHaveLength(1);
  });

  it('validates templates and capabilities', async () => {
    await expect(
      cf('CreateStack', {
        StackName: 'x',
        TemplateBody: '{"Resources": {"A": {"Type": "AWS::SNS::Topic", "Properties": {"X": {"Ref": "Nope"}}}}}',
      }),
    ).rejects.toMatchObject({
      message: 'Template format error: Unresolved resource dependencies [Nope] in the Resources block of the template',
    });
    await expect(cf('CreateStack', { StackName: 'x', TemplateBody: '{}' })).rejects.toMatchObject({
      code: 'ValidationError',
    });
    await expect(cf('CreateStack', { StackName: '1bad', TemplateBody: bucketTemplate })).rejects.toMatchObject({
      code: 'ValidationError',
    });
    const iam = JSON.stringify({ Resources: { Role: { Type: 'AWS::IAM::Role', Properties: {} } } });
    await expect(cf('CreateStack', { StackName: 'iam', TemplateBody: iam })).rejects.toMatchObject({
      code: 'InsufficientCapabilitiesException',
      message: 'Requires capabilities : [CAPABILITY_IAM]',
    });
    expect(await cf('ValidateTemplate', { TemplateBody: iam })).toMatchObject({ Capabilities: ['CAPABILITY_IAM'] });
    await cf('CreateStack', { StackName: 'iam', TemplateBody: iam, Capabilities: ['CAPABILITY_IAM'] });
    expect((await settle('iam')).StackStatus).toBe('CREATE_COMPLETE');
  });

  it('creates and executes change sets', async () => {
    const { Id, StackId } = await cf('CreateChangeSet', {
      StackName: 'cs',
      ChangeSetName: 'initial',
      ChangeSetType: 'CREATE',
      TemplateBody: bucketTemplate,
    });
    expect((await describe1('cs')).StackStatus).toBe('REVIEW_IN_PROGRESS');
    const described = await cf('DescribeChangeSet', { ChangeSetName: Id });
    expect(described).toMatchObject({ Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE', StackId });
    expect(
      (described.Changes as Array<{ ResourceChange: { Action: string } }>).map((c) => c.ResourceChange.Action),
    ).toEqual(['Add', 'Add']);
    await cf('ExecuteChangeSet', { ChangeSetName: 'initial', StackName: 'cs' });
    expect((await settle('cs')).StackStatus).toBe('CREATE_COMPLETE');
    const same = await cf('CreateChangeSet', { StackName: 'cs', ChangeSetName: 'noop', UsePreviousTemplate: 'true' });
    expect(await cf('DescribeChangeSet', { ChangeSetName: same.Id })).toMatchObject({
      Status: 'FAILED',
      ExecutionStatus: 'UNAVAILABLE',
    });
    await cf('DeleteChangeSet', { ChangeSetName: same.Id });
    await expect(cf('DescribeChangeSet', { ChangeSetName: same.Id })).rejects.toMatchObject({
      code: 'ChangeSetNotFound',
    });
  });

  it('resumes a stack operation after a restart from the persisted state', async () => {
    const store = new MemoryStore();
    const slow = createCloudFormationService({ delayMs: 40 });
    ctx = makeContext({ store, services: [s3, slow] });
    const { StackId } = (await (slow.operations.CreateStack as Operation)(
      { StackName: 'resume', TemplateBody: bucketTemplate },
      ctx,
    )) as { StackId: string };
    slow.stop?.(); // the process dies before the next step
    await new Promise((r) => setTimeout(r, 60));
    cfn = createCloudFormationService({ delayMs: 40 });
    ctx = makeContext({ store, services: [s3, cfn] });
    expect((await describe1(StackId)).StackStatus).toBe('CREATE_IN_PROGRESS');
    await cfn.start?.(ctx);
    expect((await settle(StackId)).StackStatus).toBe('CREATE_COMPLETE');
    await expect(s3op('HeadBucket', { Bucket: 'resume-test-artifacts' })).resolves.toBeDefined();
  });
});
