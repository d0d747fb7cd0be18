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

  it('answers a request for a service that is not emulated', async () => {
    const res = await query('kinesis', 'Action=ListStreams');
    expect(res.status).toBe(400);
    expect(res.headers.get('x-amzn-errortype')).toBe('UnknownServiceException');
  });
});
