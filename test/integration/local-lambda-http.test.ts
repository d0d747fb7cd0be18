import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APIGatewayProxyEventV2Schema } from '@aws-lambda-powertools/parser/schemas/api-gatewayv2';
import { InvokeCommand, LambdaClient, ListFunctionsCommand, ResourceNotFoundException } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startTestCloud, type TestCloud, waitFor } from '../helpers/local-cloud.ts';

/** A small template of its own: the wiring (routes, schedules, env intrinsics) is read from it like the real one. */
const TEMPLATE = `
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Mark: { Type: String, Default: from-default }
Globals:
  Function:
    Timeout: 5
    Environment:
      Variables:
        ECHO_MARK: !Sub '\${Mark}-\${AWS::Region}'
Resources:
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ${REPO_ROOT}
      Handler: test/helpers/local-echo-function.handler
      Events:
        Page: { Type: HttpApi, Properties: { Method: GET, Path: '/items/{id}' } }
        Post: { Type: HttpApi, Properties: { Method: POST, Path: /items } }
        Tick: { Type: ScheduleV2, Properties: { ScheduleExpression: rate(1 hour) } }
  Slow:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ${REPO_ROOT}
      Handler: test/helpers/local-echo-function.handler
      Timeout: 1
`;

let t: TestCloud;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stagecrew-tpl-'));
  writeFileSync(join(dir, 'template.yaml'), TEMPLATE);
  writeFileSync(join(dir, 'stagecrew.local.json'), JSON.stringify({ parameters: { Mark: 'from-config' } }));
  t = await startTestCloud({ templatePath: join(dir, 'template.yaml') });
});
afterAll(async () => {
  await t?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Invokes through the real Lambda SDK client; returns the status, the function error flag and the JSON payload. */
const invoke = async (name: string, payload: unknown, type?: 'RequestResponse' | 'Event' | 'DryRun') => {
  const lambda = new LambdaClient(t.clientConfig);
  const out = await lambda.send(
    new InvokeCommand({
      FunctionName: name,
      Payload: Buffer.from(JSON.stringify(payload)),
      ...(type ? { InvocationType: type } : {}),
    }),
  );
  const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
  return {
    status: out.StatusCode,
    functionError: out.FunctionError,
    body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>),
  };
};

describe('Lambda Invoke API (Lambda SDK client)', () => {
  it('runs the handler with a Lambda context and the template environment', async () => {
    const res = await invoke('stagecrew-Echo', { hello: 'world' });
    expect(res.status).toBe(200);
    expect(res.functionError).toBeUndefined();
    expect(res.body).toMatchObject({
      event: { hello: 'world' },
      functionName: 'stagecrew-Echo',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:stagecrew-Echo',
      env: {
        AWS_LAMBDA_FUNCTION_NAME: 'stagecrew-Echo',
        STAGECREW_LOCAL_ENDPOINT: t.url,
        SLACK_API_URL: `${t.url}/_slack/api`,
        ECHO_MARK: 'from-config-us-east-1',
      },
    });
    expect(res.body?.remainingMs).toBeGreaterThan(4_000);
    expect(res.body?.remainingMs).toBeLessThanOrEqual(5_000);
    const byArn = await invoke('arn:aws:lambda:us-east-1:000000000000:function:stagecrew-Echo', { n: 2 });
    expect(byArn.body).toMatchObject({ event: { n: 2 } });
  });

  it('reports a function error as Lambda does', async () => {
    const res = await invoke('stagecrew-Echo', { fail: 'boom' });
    expect(res.status).toBe(200);
    expect(res.functionError).toBe('Unhandled');
    expect(res.body).toMatchObject({ errorType: 'EchoFailure', errorMessage: 'boom' });
  });

  it('enforces the template Timeout', async () => {
    const res = await invoke('stagecrew-Slow', { sleepMs: 1_500 });
    expect(res.functionError).toBe('Unhandled');
    expect(res.body).toMatchObject({
      errorType: 'Sandbox.Timedout',
      errorMessage: 'Task timed out after 1.00 seconds',
    });
    // The next invocation gets a fresh instance.
    expect((await invoke('stagecrew-Slow', { ok: 1 })).functionError).toBeUndefined();
  });

  it('queues an Event invocation and retries a failing one twice', async () => {
    const res = await invoke('stagecrew-Echo', { fail: 'always' }, 'Event');
    expect(res.status).toBe(202);
    const attempts = await waitFor(() => {
      const runs = t.cloud.invoker
        .recent('stagecrew-Echo')
        .filter((r) => r.type === 'Event' && r.errorMessage === 'always');
      return runs.length === 3 ? runs : undefined;
    });
    expect(attempts.map((r) => r.attempt)).toEqual([0, 1, 2]);
    expect(t.cloud.ctx.store.list('lambda:async-queue')).toEqual([]);
    expect(t.cloud.ctx.store.list('lambda:async-failed')).toHaveLength(1);
    expect((await invoke('stagecrew-Echo', {}, 'DryRun')).status).toBe(204);
  });

  it('answers an unknown function with ResourceNotFoundException and lists the functions', async () => {
    await expect(invoke('nope', {})).rejects.toBeInstanceOf(ResourceNotFoundException);
    const list = await new LambdaClient(t.clientConfig).send(new ListFunctionsCommand({}));
    expect(list.Functions?.map((f) => f.FunctionName).sort()).toEqual(['stagecrew-Echo', 'stagecrew-Slow']);
  });
});

describe('HTTP API routes from the template', () => {
  it('invokes the route handler with a payload 2.0 event and returns its JSON', async () => {
    const res = await fetch(`${t.url}/items/abc%20d?x=1&x=2`, { headers: { cookie: 'a=1; b=2', 'x-test': 'yes' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const { event } = (await res.json()) as { event: Record<string, unknown> };
    expect(APIGatewayProxyEventV2Schema.safeParse(event).success).toBe(true);
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'GET /items/{id}',
      rawPath: '/items/abc%20d',
      rawQueryString: 'x=1&x=2',
      pathParameters: { id: 'abc d' },
      queryStringParameters: { x: '1,2' },
      cookies: ['a=1', 'b=2'],
      headers: { 'x-test': 'yes' },
      requestContext: { http: { method: 'GET', path: '/items/abc%20d' }, stage: '$default' },
    });
  });

  it('passes a POST body and answers unmatched routes with 404', async () => {
    const res = await fetch(`${t.url}/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    const { event } = (await res.json()) as { event: Record<string, unknown> };
    expect(event).toMatchObject({ body: '{"a":1}', isBase64Encoded: false, routeKey: 'POST /items' });
    // As API Gateway does: form bodies and bodies without a Content-Type arrive base64-encoded.
    for (const [type, body] of [
      ['application/x-www-form-urlencoded', 'payload=%7B%22a%22%3A1%7D'],
      ['application/x-www-form-urlencoded; charset=utf-8', 'a=b'],
      [undefined, 'raw bytes'],
      ['application/octet-stream', 'raw bytes'],
    ] as const) {
      const posted = await fetch(`${t.url}/items`, {
        method: 'POST',
        headers: type ? { 'content-type': type } : {},
        body: new TextEncoder().encode(body),
      });
      const seen = ((await posted.json()) as { event: Record<string, unknown> }).event;
      expect(seen, type).toMatchObject({ body: Buffer.from(body).toString('base64'), isBase64Encoded: true });
    }
    for (const type of ['text/plain; charset=utf-8', 'application/xml', 'application/javascript']) {
      const posted = await fetch(`${t.url}/items`, { method: 'POST', headers: { 'content-type': type }, body: 'x' });
      const seen = ((await posted.json()) as { event: Record<string, unknown> }).event;
      expect(seen, type).toMatchObject({ body: 'x', isBase64Encoded: false });
    }
    const missing = await fetch(`${t.url}/nothing-here`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ message: 'Not Found' });
  });
});

describe('schedules', () => {
  it('runs a schedule now on POST /_local/schedules/{name}', async () => {
    const name = t.cloud.model.schedules[0]?.name as string;
    const res = await fetch(`${t.url}/_local/schedules/${encodeURIComponent(name)}`, { method: 'POST' });
    expect(res.status).toBe(202);
    await waitFor(() => t.cloud.invoker.recent('stagecrew-Echo').find((r) => r.type === 'Event' && r.ok));
    expect((await fetch(`${t.url}/_local/schedules/nope`, { method: 'POST' })).status).toBe(404);
  });
});
