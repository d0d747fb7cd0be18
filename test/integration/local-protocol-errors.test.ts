import { ListHostedZonesCommand, Route53Client } from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedHeaders, startTestCloud, type TestCloud } from '../helpers/local-cloud.ts';

let t: TestCloud;
beforeAll(async () => {
  t = await startTestCloud();
});
afterAll(async () => {
  await t?.stop();
});

const json = (target: string, body: string) =>
  fetch(t.url, {
    method: 'POST',
    headers: { ...signedHeaders('ssm'), 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target },
    body,
  });
const query = (service: string, body: string, contentType = 'application/x-www-form-urlencoded; charset=utf-8') =>
  fetch(t.url, { method: 'POST', headers: { ...signedHeaders(service), 'content-type': contentType }, body });

describe('awsJson errors', () => {
  it('answers an unknown operation with UnknownOperationException', async () => {
    const res = await json('AmazonSSM.DoSomethingElse', '{}');
    expect(res.status).toBe(400);
    expect(res.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
    expect(await res.json()).toMatchObject({ __type: 'UnknownOperationException' });
  });

  it('answers a malformed body with SerializationException', async () => {
    const res = await json('AmazonSSM.GetParameter', '{"Name": ');
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(await res.json()).toMatchObject({ __type: 'SerializationException' });
    const notObject = await json('AmazonSSM.GetParameter', '[1]');
    expect(await notObject.json()).toMatchObject({ __type: 'SerializationException' });
  });
});

describe('awsQuery errors', () => {
  it('answers an unknown action with InvalidAction in an ErrorResponse', async () => {
    const res = await query('sns', 'Action=FlyToTheMoon&Version=2010-03-31');
    expect(res.status).toBe(400);
    const xml = await res.text();
    expect(xml).toContain('<ErrorResponse>');
    expect(xml).toContain('<Type>Sender</Type><Code>InvalidAction</Code>');
    expect(xml).toMatch(/<RequestId>[0-9a-f-]{36}<\/RequestId><\/ErrorResponse>$/);
  });

  it('answers a malformed form with ValidationError', async () => {
    for (const body of [
      'Action=Publish&Message=%E0%A4%A',
      'Action=Subscribe&Attributes.entry.x.key=a',
      'Action=Publish&TopicArn=a&TopicArn=b',
    ]) {
      const res = await query('sns', body);
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('<Code>ValidationError</Code>');
    }
    const notForm = await query('sns', '{"Action":"Publish"}', 'application/json');
    expect(await notForm.text()).toContain('<Code>ValidationError</Code>');
  });

  it('answers a request for a service that is not emulated in its own protocol', async () => {
    const res = await query('iam', 'Action=ListRoles&Version=2010-05-08');
    expect(res.status).toBe(501);
    const xml = await res.text();
    expect(xml).toContain('<ErrorResponse><Error><Type>Receiver</Type><Code>NotImplemented</Code>');
  });
});

describe('services the local cloud does not emulate, through their real clients', () => {
  it('IAM (awsQuery): a clean service error, not a parse failure', async () => {
    const res = await query('iam', 'Action=ListRoles&Version=2010-05-08');
    expect(res.status).toBe(501);
    const body = await res.text();
    expect(body).toContain('<Code>NotImplemented</Code>');
    expect(body).toContain('Service &quot;iam&quot; is not emulated');
  });

  it('Route 53 (restXml): a clean service error', async () => {
    const route53 = new Route53Client(t.clientConfig);
    const err = await route53.send(new ListHostedZonesCommand({})).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'NotImplemented', $metadata: { httpStatusCode: 501 } });
    route53.destroy();
  });

  it("EC2: EC2's own error document", async () => {
    const res = await query('ec2', 'Action=DescribeInstances&Version=2016-11-15');
    expect(res.status).toBe(501);
    expect(await res.text()).toMatch(
      /<Response><Errors><Error><Code>NotImplemented<\/Code><Message>[^<]+<\/Message><\/Error><\/Errors><RequestID>/,
    );
  });
});
