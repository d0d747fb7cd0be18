/**
 * Local SNS through the AWS SDK, as the SNS API reference describes it: DeleteTopic is idempotent, a topic's
 * attributes include SNS's default access policy, and FIFO topics require a message group and a deduplication id
 * (or content-based deduplication), delivering a duplicate only once within five minutes.
 */
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  GetTopicAttributesCommand,
  ListTopicsCommand,
  PublishCommand,
  SNSClient,
} from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from '../helpers/local-cloud.ts';

let t: TestCloud;
let sns: SNSClient;

beforeAll(async () => {
  t = await startTestCloud();
  sns = new SNSClient(t.clientConfig);
});
afterAll(async () => {
  sns?.destroy();
  await t?.stop();
});

describe('local SNS', () => {
  it('deletes a topic idempotently', async () => {
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'sns-gone' }));
    await sns.send(new DeleteTopicCommand({ TopicArn }));
    await sns.send(new DeleteTopicCommand({ TopicArn }));
    expect((await sns.send(new ListTopicsCommand({}))).Topics?.map((x) => x.TopicArn)).not.toContain(TopicArn);
  });

  it("reports SNS's default topic policy and delivery policy", async () => {
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'sns-attrs' }));
    const { Attributes } = await sns.send(new GetTopicAttributesCommand({ TopicArn }));
    const policy = JSON.parse(Attributes?.Policy ?? '{}');
    expect(policy).toMatchObject({ Version: '2008-10-17', Id: '__default_policy_ID' });
    expect(policy.Statement[0]).toMatchObject({
      Effect: 'Allow',
      Resource: TopicArn,
      Condition: { StringEquals: { 'AWS:SourceOwner': t.cloud.ctx.accountId } },
    });
    expect(policy.Statement[0].Action).toContain('SNS:Publish');
    expect(JSON.parse(Attributes?.EffectiveDeliveryPolicy ?? '{}').http.defaultHealthyRetryPolicy.numRetries).toBe(3);
  });

  it('validates FIFO names and publishes, sequencing and deduplicating', async () => {
    await expect(
      sns.send(new CreateTopicCommand({ Name: 'sns-not-fifo-name', Attributes: { FifoTopic: 'true' } })),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    const { TopicArn } = await sns.send(
      new CreateTopicCommand({ Name: 'sns-orders.fifo', Attributes: { FifoTopic: 'true' } }),
    );
    await expect(sns.send(new PublishCommand({ TopicArn, Message: 'm' }))).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: 'Invalid parameter: The MessageGroupId parameter is required for FIFO topics',
    });
    await expect(sns.send(new PublishCommand({ TopicArn, Message: 'm', MessageGroupId: 'g' }))).rejects.toMatchObject({
      message:
        'Invalid parameter: The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly',
    });
    const first = await sns.send(
      new PublishCommand({ TopicArn, Message: 'm', MessageGroupId: 'g', MessageDeduplicationId: 'd1' }),
    );
    const again = await sns.send(
      new PublishCommand({ TopicArn, Message: 'm', MessageGroupId: 'g', MessageDeduplicationId: 'd1' }),
    );
    const second = await sns.send(
      new PublishCommand({ TopicArn, Message: 'n', MessageGroupId: 'g', MessageDeduplicationId: 'd2' }),
    );
    expect(first.SequenceNumber).toMatch(/^\d{20}$/);
    expect(again).toMatchObject({ MessageId: first.MessageId, SequenceNumber: first.SequenceNumber });
    expect(BigInt(second.SequenceNumber ?? '0')).toBeGreaterThan(BigInt(first.SequenceNumber ?? '0'));

    const standard = await sns.send(new CreateTopicCommand({ Name: 'sns-standard' }));
    await expect(
      sns.send(new PublishCommand({ TopicArn: standard.TopicArn, Message: 'm', MessageDeduplicationId: 'x' })),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    expect(
      (await sns.send(new PublishCommand({ TopicArn: standard.TopicArn, Message: 'm' }))).SequenceNumber,
    ).toBeUndefined();
  });
});
