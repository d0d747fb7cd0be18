/**
 * Approvals under injected faults on the local cloud: the real approval-request and approval-api functions in
 * worker threads, real SDK clients, faults from `/_local/faults`. Whatever fails, CodePipeline takes exactly one
 * decision, the approval is recorded once (one `decided` audit entry), the approver gets a clear answer (done, or
 * "try again"), and a second click never decides twice.
 */

import { randomUUID } from 'node:crypto';
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/local-cloud.ts';
import { editSettings } from '../helpers/settings.ts';
import {
  approvalAction,
  approvalId,
  approvalLink,
  clearFaults,
  createApprovalPipeline,
  decideOnPage,
  type FaultCloud,
  faults,
  inject,
  items,
  meter,
  outbox,
  resetMeter,
  settle,
  startFaultCloud,
  waitForApproval,
} from './harness.ts';

let t: FaultCloud;
let cp: CodePipelineClient;
let db: DynamoDBDocumentClient;

beforeAll(async () => {
  t = await startFaultCloud();
  cp = new CodePipelineClient(t.clientConfig);
  db = DynamoDBDocumentClient.from(new DynamoDBClient(t.clientConfig));
  // Pipelines named quorum-* need two distinct approvers.
  await editSettings(t.clientConfig, (settings) => {
    settings.approvals.rules = [{ pipeline: 'quorum-*', policy: { quorum: 2 } }];
  });
});
afterAll(async () => {
  await t?.cleanup();
});
afterEach(async () => {
  await clearFaults(t);
});

const record = async (id: string) => (await items(t, db, `APPROVAL#${id}`, 'META'))[0] ?? {};
/** A waiting approval for a fresh pipeline, announced and recorded as such: its emailed link and id. */
const waitingApproval = async (pipeline: string) => {
  await createApprovalPipeline(t, cp, pipeline);
  await waitForApproval(cp, pipeline);
  const link = await approvalLink(t, pipeline);
  const id = approvalId(link);
  // approval-request is done (its last write records who was emailed): the next writes are the decision's.
  await waitFor(async () => ((await record(id)).emailedTo as string[] | undefined)?.length === 2, 10_000);
  await settle(t);
  return { link, id };
};
/** The decision trail: audit events other than the request itself, sorted. */
const audit = async (id: string) =>
  (await items(t, db, `APPROVAL#${id}`, 'AUDIT#'))
    .map((a) => a.event as string)
    .filter((e) => e !== 'requested')
    .sort();
const putCalls = async () => (await meter(t)).calls['codepipeline:PutApprovalResult'] ?? 0;

/** CodePipeline took exactly one decision for this approval, ours. */
const expectOneDecision = async (pipeline: string, status: 'Succeeded' | 'Failed') => {
  const a = await approvalAction(cp, pipeline);
  expect(a.executions).toHaveLength(1);
  expect(a.executions[0]?.status).toBe(status);
  expect(a.action?.status).toBe(status);
  expect(a.action?.summary).toMatch(status === 'Succeeded' ? /^Approved by / : /^Rejected by /);
};

describe('approval decisions under injected faults', () => {
  it('PutApprovalResult dropped after it took effect: one decision, recorded as ours, success page', async () => {
    const p = 'drop-after-put';
    const { link, id } = await waitingApproval(p);
    await resetMeter(t);
    await inject(t, { service: 'codepipeline', operation: 'PutApprovalResult', fault: 'drop-after' });
    const answer = await decideOnPage(link, 'approve');
    expect((await faults(t))[0]?.fired).toBe(1);
    expect({ status: answer.status, thanks: /CodePipeline has been told/.test(answer.text) }).toEqual({
      status: 200,
      thanks: true,
    });
    await expectOneDecision(p, 'Succeeded');
    expect(await record(id)).toMatchObject({ status: 'APPROVED', decidedBy: 'ana@example.com' });
    expect(await audit(id)).toEqual(['decided']);
    // A double click on the same form, and the link opened again: no second decision, no second call.
    const calls = await putCalls();
    const twice = await answer.resubmit();
    expect(twice.status).toBe(409);
    const reopened = await decideOnPage(link, 'approve');
    expect(reopened.status).toBe(0);
    expect(reopened.text).toContain('Already decided by ana@example.com');
    expect(await putCalls()).toBe(calls);
    await expectOneDecision(p, 'Succeeded');
  });

  it('PutApprovalResult throttled twice: the SDK retries, one decision, 3 calls', async () => {
    const p = 'throttled-put';
    const { link, id } = await waitingApproval(p);
    await resetMeter(t);
    await inject(t, { service: 'codepipeline', operation: 'PutApprovalResult', fault: 'throttle', times: 2 });
    const answer = await decideOnPage(link, 'reject', 'not today');
    expect(answer.status).toBe(200);
    expect(await putCalls()).toBe(3);
    await expectOneDecision(p, 'Failed');
    expect(await record(id)).toMatchObject({ status: 'REJECTED', comment: 'not today' });
    expect(await audit(id)).toEqual(['decided']);
  });

  it('PutApprovalResult failing with 500 throughout: "try again" (503), nothing decided; the retry decides once', async () => {
    const p = 'failing-put';
    const { link, id } = await waitingApproval(p);
    await resetMeter(t);
    await inject(t, { service: 'codepipeline', operation: 'PutApprovalResult', fault: 'error', times: -1 });
    const started = Date.now();
    const answer = await decideOnPage(link, 'approve');
    const elapsed = Date.now() - started;
    expect(answer.status).toBe(503);
    expect(answer.text).toContain('please try again');
    const attempts = await putCalls();
    console.log(`[faults] PutApprovalResult 500 throughout: ${attempts} calls in ${elapsed} ms before "try again"`);
    expect(attempts).toBeGreaterThanOrEqual(5);
    expect(await record(id)).toMatchObject({ status: 'PENDING' });
    expect((await approvalAction(cp, p)).action?.status).toBe('InProgress');
    await clearFaults(t);
    const retry = await decideOnPage(link, 'approve');
    expect(retry.status).toBe(200);
    await expectOneDecision(p, 'Succeeded');
    expect(await record(id)).toMatchObject({ status: 'APPROVED' });
    expect(await audit(id)).toEqual(['decided', 'failed']);
  });

  // The decision's first DynamoDB puts, in order: the page nonce, then the vote. (Later puts race with the
  // pipeline-events writes the decision sets off; the audit put is covered in sdk-adapters.test.ts.)
  it.each([
    ['the page nonce', 0],
    ['the vote', 1],
  ])('%s written but its answer dropped: the retry knows the write was its own; decided once', async (_, skip) => {
    const p = `drop-after-put-${skip}`;
    const { link, id } = await waitingApproval(p);
    await inject(t, { service: 'dynamodb', operation: 'PutItem', fault: 'drop-after', skip });
    const answer = await decideOnPage(link, 'approve');
    expect((await faults(t))[0]?.fired).toBe(1);
    expect(answer.status).toBe(200);
    await expectOneDecision(p, 'Succeeded');
    expect(await record(id)).toMatchObject({ status: 'APPROVED' });
    expect(await audit(id)).toEqual(['decided']);
  });

  it('the PENDING → DECIDING update dropped after it was applied: the retry is still the decider; decided once', async () => {
    const p = 'drop-after-begin-decision';
    const { link, id } = await waitingApproval(p);
    // A reject has no count update: its first UpdateItem is the conditional PENDING → DECIDING.
    await inject(t, { service: 'dynamodb', operation: 'UpdateItem', fault: 'drop-after' });
    const answer = await decideOnPage(link, 'reject', 'broken build');
    expect((await faults(t))[0]?.fired).toBe(1);
    expect(answer.status).toBe(200);
    await expectOneDecision(p, 'Failed');
    expect(await record(id)).toMatchObject({ status: 'REJECTED', comment: 'broken build' });
    expect(await audit(id)).toEqual(['decided']);
  });

  it('quorum 2: one approver whose count update is dropped after it was applied is still one approval', async () => {
    const p = 'quorum-drop-after-count';
    const { link, id } = await waitingApproval(p);
    await inject(t, { service: 'dynamodb', operation: 'UpdateItem', fault: 'drop-after' });
    const answer = await decideOnPage(link, 'approve');
    expect((await faults(t))[0]?.fired).toBe(1);
    expect(answer.status).toBeLessThan(500);
    const after = await record(id);
    expect({ status: after.status, approveCount: after.approveCount, approvers: after.approvers }).toEqual({
      status: 'PENDING',
      approveCount: 1,
      approvers: ['ana@example.com'],
    });
    expect((await approvalAction(cp, p)).action?.status).toBe('InProgress');
    // The second approver decides it.
    const bob = await decideOnPage(await approvalLink(t, p, 'bob@example.com'), 'approve');
    expect(bob.status).toBe(200);
    await expectOneDecision(p, 'Succeeded');
  });

  it('SNS redelivery of the approval message (same MessageId, and a new Publish): one approval, one email each', async () => {
    const p = 'sns-redelivered';
    const { id } = await waitingApproval(p);
    const token = (await approvalAction(cp, p)).action?.token as string;
    expect(token).toMatch(/^[0-9a-f-]{36}$/);
    const topic = t.cloud.model.outputs.ApprovalTopicArn as string;
    const message = JSON.stringify({
      region: 'us-east-1',
      consoleLink: `https://console.aws.amazon.com/codepipeline/home?region=us-east-1#/view/${p}`,
      approval: {
        pipelineName: p,
        stageName: 'Approve',
        actionName: 'Approve',
        token,
        expires: new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 16).concat('Z'),
        approvalReviewLink: `https://console.aws.amazon.com/codepipeline/home?region=us-east-1#/view/${p}/Approve/Approve/approve/${token}`,
        customData: 'fault test',
      },
    });
    const envelope = {
      Records: [
        {
          EventSource: 'aws:sns',
          EventVersion: '1.0',
          EventSubscriptionArn: `${topic}:redelivery`,
          Sns: {
            Type: 'Notification',
            MessageId: randomUUID(),
            TopicArn: topic,
            Subject: `APPROVAL NEEDED: AWS CodePipeline ${p} for action Approve`,
            Message: message,
            Timestamp: new Date().toISOString(),
            SignatureVersion: '1',
            Signature: 'EXAMPLE',
            SigningCertUrl: 'https://example.com/cert.pem',
            UnsubscribeUrl: 'https://example.com/unsubscribe',
            MessageAttributes: {},
          },
        },
      ],
    };
    const lambda = new LambdaClient({ ...t.clientConfig, maxAttempts: 1 });
    const fn = 'stagecrew-ApprovalRequestFunction';
    for (let i = 0; i < 2; i++) {
      const out = await lambda.send(
        new InvokeCommand({ FunctionName: fn, Payload: Buffer.from(JSON.stringify(envelope)) }),
      );
      expect(out.FunctionError).toBeUndefined();
    }
    await new SNSClient(t.clientConfig).send(new PublishCommand({ TopicArn: topic, Message: message }));
    await settle(t);
    const approvals = await db.send(
      new QueryCommand({
        TableName: t.cloud.model.outputs.StateTableName as string,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: { ':pk': `APPROVALS#${p}` },
      }),
    );
    expect((approvals.Items ?? []).map((i) => i.id)).toEqual([id]);
    const requested = (await items(t, db, `APPROVAL#${id}`, 'AUDIT#')).filter((a) => a.event === 'requested');
    expect(requested).toHaveLength(1);
    const emails: Record<string, number> = {};
    for (const m of await outbox(t)) {
      if (m.channel !== 'email' || !`${m.subject} ${m.text}`.includes(p)) continue;
      for (const to of m.to) emails[to] = (emails[to] ?? 0) + 1;
    }
    expect(emails).toEqual({ 'ana@example.com': 1, 'bob@example.com': 1 });
  });
});
