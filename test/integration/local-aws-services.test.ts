import { DescribeTableCommand, DescribeTimeToLiveCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import {
  CreateTopicCommand,
  ListSubscriptionsByTopicCommand,
  ListTopicsCommand,
  PublishCommand,
  SNSClient,
  SubscribeCommand,
  UnsubscribeCommand,
} from '@aws-sdk/client-sns';
import {
  GetParameterCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ECHO_FUNCTION_PATH, startTestCloud, type TestCloud, waitFor } from '../helpers/local-cloud.ts';

let t: TestCloud;

beforeAll(async () => {
  t = await startTestCloud({
    functions: [{ name: 'echo', modulePath: ECHO_FUNCTION_PATH, environment: { ECHO_MARK: 'echo-env' } }],
  });
});
afterAll(async () => {
  await t?.stop();
});

describe('SSM Parameter Store', () => {
  it('serves the template parameter and versions overwrites', async () => {
    const ssm = new SSMClient(t.clientConfig);
    const name = t.cloud.model.parameters[0]?.name as string;
    const seeded = await ssm.send(new GetParameterCommand({ Name: name }));
    expect(JSON.parse(seeded.Parameter?.Value ?? '')).toMatchObject({ version: 1 });
    expect(seeded.Parameter?.ARN).toBe(`arn:aws:ssm:us-east-1:000000000000:parameter/${name}`);

    await ssm.send(new PutParameterCommand({ Name: '/app/a', Value: 'one', Type: 'String' }));
    await expect(
      ssm.send(new PutParameterCommand({ Name: '/app/a', Value: 'two', Type: 'String' })),
    ).rejects.toMatchObject({
      name: 'ParameterAlreadyExists',
    });
    const put = await ssm.send(
      new PutParameterCommand({ Name: '/app/a', Value: 'two', Type: 'String', Overwrite: true }),
    );
    expect(put.Version).toBe(2);
    const got = await ssm.send(new GetParameterCommand({ Name: '/app/a' }));
    expect(got.Parameter).toMatchObject({ Value: 'two', Version: 2, Type: 'String' });
    expect(got.Parameter?.LastModifiedDate).toBeInstanceOf(Date);
    const v1 = await ssm.send(new GetParameterCommand({ Name: '/app/a:1' }));
    expect(v1.Parameter?.Value).toBe('one');

    await ssm.send(new PutParameterCommand({ Name: '/app/deep/b', Value: 'b', Type: 'String' }));
    const many = await ssm.send(new GetParametersCommand({ Names: ['/app/a', '/nope'] }));
    expect(many.Parameters?.map((p) => p.Name)).toEqual(['/app/a']);
    expect(many.InvalidParameters).toEqual(['/nope']);
    const shallow = await ssm.send(new GetParametersByPathCommand({ Path: '/app' }));
    expect(shallow.Parameters?.map((p) => p.Name)).toEqual(['/app/a']);
    const deep = await ssm.send(new GetParametersByPathCommand({ Path: '/app', Recursive: true }));
    expect(deep.Parameters?.map((p) => p.Name)).toEqual(['/app/a', '/app/deep/b']);
  });

  it('answers a missing parameter with the typed ParameterNotFound error', async () => {
    const ssm = new SSMClient(t.clientConfig);
    const err = await ssm.send(new GetParameterCommand({ Name: '/does/not/exist' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParameterNotFound);
    expect((err as ParameterNotFound).$metadata.httpStatusCode).toBe(400);
  });
});

describe('Secrets Manager', () => {
  it('generates the template secret once, with its template keys', async () => {
    const sm = new SecretsManagerClient(t.clientConfig);
    const spec = t.cloud.model.secrets[0];
    const got = await sm.send(new GetSecretValueCommand({ SecretId: spec?.arn }));
    const value = JSON.parse(got.SecretString ?? '{}');
    expect(value).toMatchObject({ linkKeyId: 'k1', slackBotToken: '', slackSigningSecret: '' });
    expect(value.linkSigningKey).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(got.ARN).toBe(spec?.arn);
  });

  it('creates, versions and describes a secret', async () => {
    const sm = new SecretsManagerClient(t.clientConfig);
    const created = await sm.send(new CreateSecretCommand({ Name: 'app/token', SecretString: 'v1' }));
    await expect(sm.send(new CreateSecretCommand({ Name: 'app/token', SecretString: 'x' }))).rejects.toMatchObject({
      name: 'ResourceExistsException',
    });
    const put = await sm.send(new PutSecretValueCommand({ SecretId: 'app/token', SecretString: 'v2' }));
    expect((await sm.send(new GetSecretValueCommand({ SecretId: created.ARN }))).SecretString).toBe('v2');
    const previous = await sm.send(new GetSecretValueCommand({ SecretId: 'app/token', VersionStage: 'AWSPREVIOUS' }));
    expect(previous.SecretString).toBe('v1');
    const described = await sm.send(new DescribeSecretCommand({ SecretId: 'app/token' }));
    expect(described.VersionIdsToStages?.[put.VersionId as string]).toEqual(['AWSCURRENT']);
    await expect(sm.send(new GetSecretValueCommand({ SecretId: 'nope' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });
});

describe('SNS', () => {
  it('delivers a published message to a subscribed function as the real SNS event envelope', async () => {
    const sns = new SNSClient(t.clientConfig);
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'deliveries' }));
    expect(TopicArn).toBe('arn:aws:sns:us-east-1:000000000000:deliveries');
    expect((await sns.send(new CreateTopicCommand({ Name: 'deliveries' }))).TopicArn).toBe(TopicArn);
    const { SubscriptionArn } = await sns.send(
      new SubscribeCommand({
        TopicArn,
        Protocol: 'lambda',
        Endpoint: 'arn:aws:lambda:us-east-1:000000000000:function:echo',
      }),
    );
    const subs = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn }));
    expect(subs.Subscriptions).toEqual([expect.objectContaining({ SubscriptionArn, Protocol: 'lambda', TopicArn })]);
    const topics = await sns.send(new ListTopicsCommand({}));
    expect(topics.Topics?.map((x) => x.TopicArn)).toContain(TopicArn);

    const { MessageId } = await sns.send(
      new PublishCommand({
        TopicArn,
        Subject: 'hello',
        Message: '{"approval":"a1"}',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'approval' } },
      }),
    );
    const record = await waitFor(() => t.cloud.invoker.recent('echo').find((r) => r.ok && r.type === 'Event'));
    const event = (record.result as { event: { Records: Array<Record<string, unknown>> } }).event;
    expect(event.Records).toHaveLength(1);
    expect(event.Records[0]).toMatchObject({
      EventSource: 'aws:sns',
      EventVersion: '1.0',
      EventSubscriptionArn: SubscriptionArn,
      Sns: {
        Type: 'Notification',
        MessageId,
        TopicArn,
        Subject: 'hello',
        Message: '{"approval":"a1"}',
        SignatureVersion: '1',
        MessageAttributes: { kind: { Type: 'String', Value: 'approval' } },
      },
    });
    const sns0 = event.Records[0]?.Sns as Record<string, string>;
    expect(new Date(sns0.Timestamp as string).toISOString()).toBe(sns0.Timestamp);
    expect(sns0.Signature).toBeTruthy();
    expect(sns0.SigningCertUrl).toMatch(/^https:\/\//);
    expect(sns0.UnsubscribeUrl).toContain(encodeURIComponent(SubscriptionArn as string));

    await sns.send(new UnsubscribeCommand({ SubscriptionArn }));
    expect((await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn }))).Subscriptions).toEqual([]);
  });

  it('subscribes the template functions to the template topics', async () => {
    const sns = new SNSClient(t.clientConfig);
    const topic = t.cloud.model.topics[0];
    const subs = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topic?.arn }));
    expect(subs.Subscriptions?.map((s) => s.Endpoint)).toEqual(t.cloud.model.subscriptions.map((s) => s.functionArn));
  });

  it('answers a publish to a missing topic with NotFound', async () => {
    const sns = new SNSClient(t.clientConfig);
    await expect(
      sns.send(new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:000000000000:missing', Message: 'x' })),
    ).rejects.toMatchObject({ name: 'NotFoundException', $metadata: { httpStatusCode: 404 } });
  });
});

describe('SES v2', () => {
  it('captures SendEmail in the outbox with absolute links', async () => {
    const ses = new SESv2Client(t.clientConfig);
    const out = await ses.send(
      new SendEmailCommand({
        FromEmailAddress: 'stagecrew@example.com',
        Destination: { ToAddresses: ['dev@example.com'] },
        Content: {
          Simple: {
            Subject: { Data: 'Approve deploy' },
            Body: {
              Text: { Data: `Approve: ${t.url}/approvals/a1?sig=x` },
              Html: { Data: '<a href="/approvals/a1/decision">decide</a>' },
            },
          },
        },
      }),
    );
    expect(out.MessageId).toBeTruthy();
    const outbox = (await (await fetch(`${t.url}/_local/outbox`)).json()) as Array<Record<string, unknown>>;
    const mail = outbox.find((m) => m.subject === 'Approve deploy');
    expect(mail).toMatchObject({ channel: 'email', to: ['dev@example.com'] });
    expect(mail?.links).toEqual([`${t.url}/approvals/a1?sig=x`, `${t.url}/approvals/a1/decision`]);
  });

  it('rejects an email without recipients as BadRequestException', async () => {
    const ses = new SESv2Client(t.clientConfig);
    await expect(
      ses.send(
        new SendEmailCommand({
          FromEmailAddress: 'a@example.com',
          Destination: { ToAddresses: [] },
          Content: { Simple: { Subject: { Data: 's' }, Body: { Text: { Data: 't' } } } },
        }),
      ),
    ).rejects.toMatchObject({ name: 'BadRequestException' });
  });
});

describe('DynamoDB (dynalite)', () => {
  it('creates the template table with its GSI and TTL, and serves put/get/query', async () => {
    const ddb = new DynamoDBClient(t.clientConfig);
    const table = t.cloud.model.tables[0]?.name as string;
    const described = await ddb.send(new DescribeTableCommand({ TableName: table }));
    expect(described.Table?.GlobalSecondaryIndexes?.map((g) => g.IndexName)).toEqual(['gsi1']);
    const ttl = await ddb.send(new DescribeTimeToLiveCommand({ TableName: table }));
    expect(ttl.TimeToLiveDescription).toEqual({ TimeToLiveStatus: 'ENABLED', AttributeName: 'ttl' });

    const doc = DynamoDBDocumentClient.from(ddb);
    await doc.send(new PutCommand({ TableName: table, Item: { pk: 'P#1', sk: 'A', gsi1pk: 'G', gsi1sk: '1', n: 1 } }));
    await doc.send(new PutCommand({ TableName: table, Item: { pk: 'P#1', sk: 'B', gsi1pk: 'G', gsi1sk: '2', n: 2 } }));
    expect((await doc.send(new GetCommand({ TableName: table, Key: { pk: 'P#1', sk: 'B' } }))).Item?.n).toBe(2);
    const q = await doc.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': 'P#1' },
      }),
    );
    expect(q.Items?.map((i) => i.sk)).toEqual(['A', 'B']);
    const byIndex = await doc.send(
      new QueryCommand({
        TableName: table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :g',
        ExpressionAttributeValues: { ':g': 'G' },
        ScanIndexForward: false,
      }),
    );
    expect(byIndex.Items?.map((i) => i.sk)).toEqual(['B', 'A']);
    await expect(
      doc.send(
        new PutCommand({
          TableName: table,
          Item: { pk: 'P#1', sk: 'A' },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    ).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
  });
});
