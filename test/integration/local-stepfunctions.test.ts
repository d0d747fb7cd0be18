import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ECHO_FUNCTION_PATH, startTestCloud, type TestCloud, waitFor } from '../helpers/local-cloud.ts';

let t: TestCloud;
let sfn: SFNClient;
const ROLE = 'arn:aws:iam::000000000000:role/teardown';

const finished = (executionArn: string) =>
  waitFor(async () => {
    const e = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    return e.status !== 'RUNNING' ? e : undefined;
  });

const tokenOf = (executionArn: string) =>
  waitFor(async () => {
    const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    const scheduled = events?.find((e) => e.type === 'TaskScheduled');
    const parameters = scheduled?.taskScheduledEventDetails?.parameters;
    return parameters ? (JSON.parse(parameters).Payload.token as string) : undefined;
  });

beforeAll(async () => {
  vi.stubEnv('STAGECREW_SFN_WAIT_SCALE', '0');
  t = await startTestCloud({ functions: [{ name: 'echo', modulePath: ECHO_FUNCTION_PATH }] });
  sfn = new SFNClient(t.clientConfig);
  const s3 = new S3Client(t.clientConfig);
  await s3.send(new CreateBucketCommand({ Bucket: 'it-sfn-bucket' }));
  await s3.send(new PutObjectCommand({ Bucket: 'it-sfn-bucket', Key: 'a.txt', Body: 'a' }));
  s3.destroy();
});
afterAll(async () => {
  const s3 = new S3Client(t.clientConfig);
  await s3.send(new DeleteObjectCommand({ Bucket: 'it-sfn-bucket', Key: 'a.txt' }));
  await s3.send(new DeleteBucketCommand({ Bucket: 'it-sfn-bucket' }));
  s3.destroy();
  sfn?.destroy();
  await t?.stop();
  vi.unstubAllEnvs();
});

describe('local Step Functions through the AWS SDK', () => {
  it('runs Lambda and aws-sdk tasks against the local cloud and reports history', async () => {
    const definition = {
      StartAt: 'Echo',
      States: {
        Echo: {
          Type: 'Task',
          Resource: 'arn:aws:lambda:us-east-1:000000000000:function:echo',
          ResultSelector: { 'fn.$': '$.functionName' },
          ResultPath: '$.echo',
          Next: 'Pause',
        },
        Pause: { Type: 'Wait', Seconds: 3600, Next: 'List' },
        List: {
          Type: 'Task',
          Resource: 'arn:aws:states:::aws-sdk:s3:listObjectsV2',
          Parameters: { Bucket: 'it-sfn-bucket' },
          ResultSelector: { 'keys.$': '$.Contents[*].Key' },
          ResultPath: '$.listing',
          Next: 'Describe',
        },
        Describe: {
          Type: 'Task',
          Resource: 'arn:aws:states:::aws-sdk:cloudformation:describeStacks',
          Parameters: { StackName: 'no-such-stack' },
          Catch: [{ ErrorEquals: ['CloudFormation.CloudFormationException'], ResultPath: '$.error', Next: 'Done' }],
          Next: 'Done',
        },
        Done: { Type: 'Succeed' },
      },
    };
    const { stateMachineArn } = await sfn.send(
      new CreateStateMachineCommand({ name: 'it-flow', roleArn: ROLE, definition: JSON.stringify(definition) }),
    );
    await expect(
      sfn.send(
        new CreateStateMachineCommand({
          name: 'it-flow',
          roleArn: ROLE,
          definition: JSON.stringify({ StartAt: 'X', States: { X: { Type: 'Succeed' } } }),
        }),
      ),
    ).rejects.toMatchObject({ name: 'StateMachineAlreadyExists' });
    await expect(
      sfn.send(new CreateStateMachineCommand({ name: 'it-bad', roleArn: ROLE, definition: '{"StartAt":"X"}' })),
    ).rejects.toMatchObject({
      name: 'InvalidDefinition',
    });
    expect((await sfn.send(new DescribeStateMachineCommand({ stateMachineArn }))).status).toBe('ACTIVE');
    expect((await sfn.send(new ListStateMachinesCommand({}))).stateMachines?.map((m) => m.name)).toContain('it-flow');

    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, name: 'run-1', input: '{"stack":"s"}' }),
    );
    const done = await finished(executionArn as string);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.startDate).toBeInstanceOf(Date);
    const output = JSON.parse(done.output as string);
    expect(output.echo).toEqual({ fn: 'echo' });
    expect(output.listing).toEqual({ keys: ['a.txt'] });
    expect(output.error.Error).toBe('CloudFormation.CloudFormationException');
    expect(output.error.Cause).toContain('Stack with id no-such-stack does not exist');

    const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    expect(
      events?.filter((e) => e.type?.endsWith('StateEntered')).map((e) => e.stateEnteredEventDetails?.name),
    ).toEqual(['Echo', 'Pause', 'List', 'Describe', 'Done']);
    expect(events?.[0]).toMatchObject({ id: 1, previousEventId: 0, type: 'ExecutionStarted' });
    await expect(
      sfn.send(new StartExecutionCommand({ stateMachineArn, name: 'run-1', input: '{"stack":"s"}' })),
    ).rejects.toMatchObject({
      name: 'ExecutionAlreadyExists',
    });
    const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn, statusFilter: 'SUCCEEDED' }));
    expect(listed.executions?.map((e) => e.name)).toEqual(['run-1']);
  });

  it('waits for task tokens, completed with SendTaskSuccess or SendTaskFailure, and stops executions', async () => {
    const definition = {
      StartAt: 'Notify',
      States: {
        Notify: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
          Parameters: { FunctionName: 'echo', Payload: { 'token.$': '$$.Task.Token' } },
          End: true,
        },
      },
    };
    const { stateMachineArn } = await sfn.send(
      new CreateStateMachineCommand({ name: 'it-callback', roleArn: ROLE, definition: JSON.stringify(definition) }),
    );

    const ok = await sfn.send(new StartExecutionCommand({ stateMachineArn, name: 'ok' }));
    const again = await sfn.send(new StartExecutionCommand({ stateMachineArn, name: 'ok' }));
    expect(again.executionArn).toBe(ok.executionArn); // same name and input while running: the same execution
    const token = await tokenOf(ok.executionArn as string);
    await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"deleted":true}' }));
    expect(await finished(ok.executionArn as string)).toMatchObject({
      status: 'SUCCEEDED',
      output: '{"deleted":true}',
    });
    await expect(sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }))).rejects.toMatchObject({
      name: 'TaskTimedOut',
    });
    await expect(sfn.send(new SendTaskSuccessCommand({ taskToken: 'garbage', output: '{}' }))).rejects.toMatchObject({
      name: 'InvalidToken',
    });

    const bad = await sfn.send(new StartExecutionCommand({ stateMachineArn, name: 'bad' }));
    await sfn.send(
      new SendTaskFailureCommand({
        taskToken: await tokenOf(bad.executionArn as string),
        error: 'StackDeleteFailed',
        cause: 'bucket not empty',
      }),
    );
    expect(await finished(bad.executionArn as string)).toMatchObject({
      status: 'FAILED',
      error: 'StackDeleteFailed',
      cause: 'bucket not empty',
    });

    const stopped = await sfn.send(new StartExecutionCommand({ stateMachineArn, name: 'stopped' }));
    await tokenOf(stopped.executionArn as string);
    await sfn.send(new StopExecutionCommand({ executionArn: stopped.executionArn, cause: 'pipeline resumed' }));
    expect(await finished(stopped.executionArn as string)).toMatchObject({
      status: 'ABORTED',
      cause: 'pipeline resumed',
    });
    await expect(
      sfn.send(
        new DescribeExecutionCommand({
          executionArn: `${String(stateMachineArn).replace(':stateMachine:', ':execution:')}:nope`,
        }),
      ),
    ).rejects.toMatchObject({
      name: 'ExecutionDoesNotExist',
    });
  });

  it('refuses names over 80 characters as a model constraint and reports the default encryption', async () => {
    const definition = JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Succeed' } } });
    const long = 'n'.repeat(81);
    await expect(
      sfn.send(new CreateStateMachineCommand({ name: long, roleArn: ROLE, definition })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: `1 validation error detected: Value '${long}' at 'name' failed to satisfy constraint: Member must have length less than or equal to 80`,
    });
    await expect(
      sfn.send(new CreateStateMachineCommand({ name: 'bad name', roleArn: ROLE, definition })),
    ).rejects.toMatchObject({ name: 'InvalidName' });
    const { stateMachineArn } = await sfn.send(
      new CreateStateMachineCommand({ name: 'it-encrypted', roleArn: ROLE, definition }),
    );
    const described = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn }));
    expect(described.encryptionConfiguration).toEqual({ type: 'AWS_OWNED_KEY' });
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn, name: 'e'.repeat(81) }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
  });
});
