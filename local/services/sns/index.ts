import { createHash, randomUUID } from 'node:crypto';
import { Outbox } from '../../runtime/outbox.ts';
import { AwsError, type LocalContext, QueryMap, type QueryService } from '../types.ts';

/**
 * SNS (awsQuery): topics, subscriptions and Publish. Lambda subscribers receive the real SNS event envelope,
 * invoked asynchronously (Lambda's async retries apply); email subscribers land in the outbox.
 */
type Topic = { TopicArn: string; Name: string; Attributes: Record<string, string>; CreatedAt: string };
type Subscription = { SubscriptionArn: string; TopicArn: string; Protocol: string; Endpoint: string; Owner: string };
type MessageAttribute = { DataType?: string; StringValue?: string; BinaryValue?: string };

const TOPICS = 'sns:topics';
const SUBS = 'sns:subscriptions';
const PROTOCOLS = new Set(['lambda', 'email', 'email-json']);

const invalid = (message: string) => new AwsError('InvalidParameter', `Invalid parameter: ${message}`);

const topicArn = (ctx: LocalContext, name: string) => `arn:aws:sns:${ctx.region}:${ctx.accountId}:${name}`;

const getTopic = (ctx: LocalContext, arn: unknown): Topic => {
  if (typeof arn !== 'string' || arn === '') throw invalid('TopicArn');
  const topic = ctx.store.get<Topic>(TOPICS, arn);
  if (!topic) throw new AwsError('NotFound', 'Topic does not exist', 404);
  return topic;
};

const isFifo = (topic: Topic) => topic.Attributes.FifoTopic === 'true';

/** SNS's default access policy for a new topic: the owning account may manage, subscribe and publish. */
const defaultPolicy = (arn: string, account: string) =>
  JSON.stringify({
    Version: '2008-10-17',
    Id: '__default_policy_ID',
    Statement: [
      {
        Sid: '__default_statement_ID',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: [
          'SNS:GetTopicAttributes',
          'SNS:SetTopicAttributes',
          'SNS:AddPermission',
          'SNS:RemovePermission',
          'SNS:DeleteTopic',
          'SNS:Subscribe',
          'SNS:ListSubscriptionsByTopic',
          'SNS:Publish',
        ],
        Resource: arn,
        Condition: { StringEquals: { 'AWS:SourceOwner': account } },
      },
    ],
  });

const DEFAULT_DELIVERY_POLICY = JSON.stringify({
  http: {
    defaultHealthyRetryPolicy: {
      minDelayTarget: 20,
      maxDelayTarget: 20,
      numRetries: 3,
      numMaxDelayRetries: 0,
      numNoDelayRetries: 0,
      numMinDelayRetries: 0,
      backoffFunction: 'linear',
    },
    disableSubscriptionOverrides: false,
    defaultRequestPolicy: { headerContentType: 'text/plain; charset=UTF-8' },
  },
});

export const createTopic = (ctx: LocalContext, name: string, attributes: Record<string, string> = {}): Topic => {
  const fifo = attributes.FifoTopic === 'true';
  if (fifo && !/^[A-Za-z0-9_-]{1,251}\.fifo$/.test(name)) {
    throw invalid(
      'Fifo Topic names must end with .fifo and they must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.',
    );
  }
  if (!fifo && !/^[A-Za-z0-9_-]{1,256}$/.test(name)) throw invalid('Topic Name');
  const arn = topicArn(ctx, name);
  const existing = ctx.store.get<Topic>(TOPICS, arn);
  if (existing) return existing; // CreateTopic is idempotent by name
  const topic: Topic = { TopicArn: arn, Name: name, Attributes: attributes, CreatedAt: new Date().toISOString() };
  ctx.store.put(TOPICS, arn, topic);
  return topic;
};

export const subscribe = (
  ctx: LocalContext,
  topicArnValue: string,
  protocol: string,
  endpoint: string,
): Subscription => {
  const topic = getTopic(ctx, topicArnValue);
  if (!PROTOCOLS.has(protocol))
    throw invalid(`Protocol ${protocol} is not supported by the local cloud (lambda, email)`);
  if (endpoint === '') throw invalid('Endpoint');
  const existing = ctx.store
    .list<Subscription>(SUBS)
    .find(([, s]) => s.TopicArn === topic.TopicArn && s.Protocol === protocol && s.Endpoint === endpoint);
  if (existing) return existing[1];
  const sub: Subscription = {
    SubscriptionArn: `${topic.TopicArn}:${randomUUID()}`,
    TopicArn: topic.TopicArn,
    Protocol: protocol,
    Endpoint: endpoint,
    Owner: ctx.accountId,
  };
  ctx.store.put(SUBS, sub.SubscriptionArn, sub);
  return sub;
};

const page = <T>(items: T[], token: unknown, size = 100) => {
  const start = typeof token === 'string' ? Number(token) || 0 : 0;
  return {
    items: items.slice(start, start + size),
    next: start + size < items.length ? String(start + size) : undefined,
  };
};

const DEDUP = 'sns:fifo-dedup';
const DEDUP_WINDOW_MS = 5 * 60_000;
type Dedup = { at: number; messageId: string; sequenceNumber: string };

/**
 * FIFO topics (SNS API reference, Publish): a message group id is required, and a deduplication id unless the topic
 * has content-based deduplication; a message with the same deduplication id within five minutes is accepted and not
 * delivered again. Standard topics refuse a deduplication id.
 */
const fifoPublish = (
  ctx: LocalContext,
  topic: Topic,
  input: { Message?: unknown; MessageGroupId?: unknown; MessageDeduplicationId?: unknown },
): { duplicate?: Dedup; sequence?: { id: string; sequenceNumber: string; dedupKey: string } } => {
  if (!isFifo(topic)) {
    if (input.MessageDeduplicationId !== undefined) {
      throw invalid(
        'MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type',
      );
    }
    return {};
  }
  if (typeof input.MessageGroupId !== 'string' || input.MessageGroupId === '') {
    throw invalid('The MessageGroupId parameter is required for FIFO topics');
  }
  let dedupId = typeof input.MessageDeduplicationId === 'string' ? input.MessageDeduplicationId : undefined;
  if (dedupId === undefined) {
    if (topic.Attributes.ContentBasedDeduplication !== 'true') {
      throw invalid(
        'The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly',
      );
    }
    dedupId = createHash('sha256').update(String(input.Message)).digest('hex');
  }
  const dedupKey = `${topic.TopicArn}|${dedupId}`;
  const seen = ctx.store.get<Dedup>(DEDUP, dedupKey);
  if (seen && Date.now() - seen.at < DEDUP_WINDOW_MS) return { duplicate: seen };
  const last = ctx.store.get<string>(DEDUP, `${topic.TopicArn}|#sequence`) ?? '0';
  const sequenceNumber = (BigInt(last) + 1n).toString().padStart(20, '0');
  ctx.store.put(DEDUP, `${topic.TopicArn}|#sequence`, sequenceNumber);
  return { sequence: { id: dedupId, sequenceNumber, dedupKey } };
};

const publish = async (
  input: {
    TopicArn?: unknown;
    TargetArn?: unknown;
    Message?: unknown;
    Subject?: unknown;
    MessageAttributes?: unknown;
    MessageGroupId?: unknown;
    MessageDeduplicationId?: unknown;
  },
  ctx: LocalContext,
) => {
  const topic = getTopic(ctx, input.TopicArn ?? input.TargetArn);
  if (typeof input.Message !== 'string' || input.Message === '') throw invalid('Empty message');
  if (Buffer.byteLength(input.Message) > 256 * 1024) throw invalid('Message too long');
  if (input.Subject !== undefined && (typeof input.Subject !== 'string' || input.Subject.length > 100)) {
    throw invalid('Subject');
  }
  const attributes: Record<string, { Type: string; Value: string }> = {};
  if (input.MessageAttributes !== undefined) {
    if (typeof input.MessageAttributes !== 'object' || input.MessageAttributes === null)
      throw invalid('MessageAttributes');
    for (const [name, raw] of Object.entries(input.MessageAttributes as Record<string, MessageAttribute>)) {
      if (!raw?.DataType)
        throw invalid(`The message attribute '${name}' must contain non-empty message attribute type.`);
      attributes[name] = { Type: raw.DataType, Value: String(raw.StringValue ?? raw.BinaryValue ?? '') };
    }
  }
  const fifo = fifoPublish(ctx, topic, input);
  if (fifo.duplicate) return { MessageId: fifo.duplicate.messageId, SequenceNumber: fifo.duplicate.sequenceNumber };
  const messageId = randomUUID();
  if (fifo.sequence) {
    ctx.store.put(DEDUP, fifo.sequence.dedupKey, {
      at: Date.now(),
      messageId,
      sequenceNumber: fifo.sequence.sequenceNumber,
    } satisfies Dedup);
  }
  const timestamp = new Date().toISOString();
  const subs = ctx.store.list<Subscription>(SUBS).filter(([, s]) => s.TopicArn === topic.TopicArn);
  for (const [, sub] of subs) {
    const record = {
      EventSource: 'aws:sns',
      EventVersion: '1.0',
      EventSubscriptionArn: sub.SubscriptionArn,
      Sns: {
        Type: 'Notification',
        MessageId: messageId,
        TopicArn: topic.TopicArn,
        Subject: typeof input.Subject === 'string' ? input.Subject : null,
        Message: input.Message,
        Timestamp: timestamp,
        SignatureVersion: '1',
        Signature: Buffer.from(`local:${messageId}`).toString('base64'),
        SigningCertUrl: `https://sns.${ctx.region}.amazonaws.com/SimpleNotificationService-local.pem`,
        UnsubscribeUrl: `${ctx.baseUrl}/?Action=Unsubscribe&SubscriptionArn=${encodeURIComponent(sub.SubscriptionArn)}`,
        MessageAttributes: attributes,
      },
    };
    if (sub.Protocol === 'lambda') {
      await ctx.invoke(sub.Endpoint, { Records: [record] }, 'Event');
    } else {
      new Outbox(ctx.store, ctx.baseUrl).addEmail({
        from: `no-reply@sns.${ctx.region}.amazonaws.com`,
        to: [sub.Endpoint],
        subject: typeof input.Subject === 'string' ? input.Subject : topic.Name,
        text: sub.Protocol === 'email-json' ? JSON.stringify(record.Sns) : input.Message,
      });
    }
  }
  return { MessageId: messageId, ...(fifo.sequence ? { SequenceNumber: fifo.sequence.sequenceNumber } : {}) };
};

export const service: QueryService = {
  protocol: 'query',
  id: 'sns',
  signingName: 'sns',
  xmlns: 'http://sns.amazonaws.com/doc/2010-03-31/',
  operations: {
    CreateTopic(input: { Name?: unknown; Attributes?: unknown }, ctx) {
      if (typeof input.Name !== 'string') throw invalid('Topic Name');
      const attrs = (input.Attributes ?? {}) as Record<string, string>;
      return { TopicArn: createTopic(ctx, input.Name, attrs).TopicArn };
    },
    DeleteTopic(input: { TopicArn?: unknown }, ctx) {
      // Idempotent, as on AWS: deleting a topic that does not exist (any more) succeeds.
      if (typeof input.TopicArn !== 'string' || !/^arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[\w.-]+$/.test(input.TopicArn)) {
        throw invalid('TopicArn');
      }
      ctx.store.delete(TOPICS, input.TopicArn);
      for (const [arn, s] of ctx.store.list<Subscription>(SUBS))
        if (s.TopicArn === input.TopicArn) ctx.store.delete(SUBS, arn);
      return undefined;
    },
    ListTopics(input: { NextToken?: unknown }, ctx) {
      const { items, next } = page(
        ctx.store.list<Topic>(TOPICS).map(([, t]) => ({ TopicArn: t.TopicArn })),
        input.NextToken,
      );
      return { Topics: items, ...(next ? { NextToken: next } : {}) };
    },
    Subscribe(input: { TopicArn?: unknown; Protocol?: unknown; Endpoint?: unknown }, ctx) {
      if (typeof input.Protocol !== 'string') throw invalid('Protocol');
      const sub = subscribe(ctx, String(input.TopicArn ?? ''), input.Protocol, String(input.Endpoint ?? ''));
      return { SubscriptionArn: sub.SubscriptionArn };
    },
    Unsubscribe(input: { SubscriptionArn?: unknown }, ctx) {
      if (typeof input.SubscriptionArn !== 'string' || !ctx.store.get(SUBS, input.SubscriptionArn)) {
        throw new AwsError('NotFound', 'Subscription does not exist', 404);
      }
      ctx.store.delete(SUBS, input.SubscriptionArn);
      return undefined;
    },
    ListSubscriptions(input: { NextToken?: unknown }, ctx) {
      const { items, next } = page(
        ctx.store.list<Subscription>(SUBS).map(([, s]) => s),
        input.NextToken,
      );
      return { Subscriptions: items, ...(next ? { NextToken: next } : {}) };
    },
    ListSubscriptionsByTopic(input: { TopicArn?: unknown; NextToken?: unknown }, ctx) {
      const topic = getTopic(ctx, input.TopicArn);
      const all = ctx.store
        .list<Subscription>(SUBS)
        .map(([, s]) => s)
        .filter((s) => s.TopicArn === topic.TopicArn);
      const { items, next } = page(all, input.NextToken);
      return { Subscriptions: items, ...(next ? { NextToken: next } : {}) };
    },
    GetTopicAttributes(input: { TopicArn?: unknown }, ctx) {
      const topic = getTopic(ctx, input.TopicArn);
      const subs = ctx.store.list<Subscription>(SUBS).filter(([, s]) => s.TopicArn === topic.TopicArn).length;
      return {
        Attributes: new QueryMap({
          Policy: defaultPolicy(topic.TopicArn, ctx.accountId),
          EffectiveDeliveryPolicy: DEFAULT_DELIVERY_POLICY,
          DisplayName: '',
          ...topic.Attributes,
          TopicArn: topic.TopicArn,
          Owner: ctx.accountId,
          SubscriptionsConfirmed: String(subs),
          SubscriptionsPending: '0',
          SubscriptionsDeleted: '0',
        }),
      };
    },
    Publish: publish,
  },
};
