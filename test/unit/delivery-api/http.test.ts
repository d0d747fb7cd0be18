import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { UnavailableError } from '#core/errors';
import { parseSettings } from '#core/settings';
import type { TimelineRecord } from '#core/timeline/record';
import { type DeliveryApiDeps, handleDeliveryRequest } from '../../../functions/delivery-api/http.ts';
import { MemoryDeliveryStore } from '../timeline/fakes.ts';

const NOW = new Date('2026-03-10T12:00:00.000Z');

const deps = (over: Partial<DeliveryApiDeps> = {}): DeliveryApiDeps & { delivery: MemoryDeliveryStore } => {
  const delivery = new MemoryDeliveryStore();
  const executions: TimelineRecord[] = [
    {
      type: 'execution',
      pipeline: 'web-app',
      executionId: '8c2a4a4e-1c1d-4d6e-9a5b-3f3c2b1a0e9d',
      state: 'SUCCEEDED',
      stateAt: '2026-03-10T10:00:00.000Z',
      firstSeenAt: '2026-03-10T09:50:00.000Z',
      lastEventId: 'e1',
    },
  ];
  return {
    timeline: { listExecutions: async (p, o) => (p === 'web-app' ? executions.slice(0, o?.limit ?? 25) : []) },
    delivery,
    teardown: { finishedRuns: async () => [] },
    settings: async () => parseSettings({}),
    clock: { now: () => NOW },
    logger: { info: () => {}, warn: () => {}, error: () => {} },
    ...over,
  } as DeliveryApiDeps & { delivery: MemoryDeliveryStore };
};

/** The published IAM-authorized HTTP API event (events/http-api-iam-pipeline-metrics.json) at another path. */
const request = (path: string, query?: Record<string, string>, withIam = true): APIGatewayProxyEventV2 => {
  const e = JSON.parse(readFileSync('events/http-api-iam-pipeline-metrics.json', 'utf8')) as APIGatewayProxyEventV2 & {
    requestContext: { authorizer?: unknown };
  };
  e.rawPath = path;
  e.requestContext.http.path = path;
  const name = /^\/pipelines\/([^/]+)/.exec(path)?.[1];
  e.pathParameters = name ? { name: decodeURIComponent(name) } : {};
  if (query) e.queryStringParameters = query;
  else delete e.queryStringParameters;
  if (!withIam) delete e.requestContext.authorizer;
  return e;
};

const body = (r: { body?: string }) => JSON.parse(r.body ?? '{}');

describe('delivery read API', () => {
  it('answers a pipeline’s executions and its figures for the last 30 days', async () => {
    const d = deps();
    const list = await handleDeliveryRequest(request('/pipelines/web-app/executions', { limit: '5' }), d);
    expect(list.statusCode).toBe(200);
    expect(list.headers).toMatchObject({ 'content-type': 'application/json', 'cache-control': 'no-store' });
    expect(body(list).executions).toHaveLength(1);

    const metrics = await handleDeliveryRequest(request('/pipelines/web-app/metrics'), d);
    expect(metrics.statusCode).toBe(200);
    const f = body(metrics);
    expect(f).toMatchObject({ pipeline: 'web-app', from: '2026-02-09T00:00:00.000Z', to: NOW.toISOString() });
    expect(f.days).toHaveLength(30);
    expect(f.teardownWeeks).toEqual([]);
  });

  it('takes an explicit window', async () => {
    const r = await handleDeliveryRequest(
      request('/pipelines/web-app/metrics', { from: '2026-03-01T00:00:00Z', to: '2026-03-08T00:00:00Z' }),
      deps(),
    );
    expect(body(r)).toMatchObject({ from: '2026-03-01T00:00:00.000Z', to: '2026-03-08T00:00:00.000Z' });
  });

  it.each([
    ['/pipelines/web-app/metrics', { days: '0' }, 'invalid query'],
    ['/pipelines/web-app/metrics', { days: '93' }, 'invalid query'],
    ['/pipelines/web-app/metrics', { days: '7', from: '2026-03-01T00:00:00Z' }, 'give either days or from/to'],
    ['/pipelines/web-app/metrics', { from: 'yesterday' }, 'invalid query'],
    [
      '/pipelines/web-app/metrics',
      { from: '2026-03-05T00:00:00Z', to: '2026-03-01T00:00:00Z' },
      'from must be before to',
    ],
    [
      '/pipelines/web-app/metrics',
      { from: '2025-01-01T00:00:00Z', to: '2026-03-01T00:00:00Z' },
      'a window is at most 92 days',
    ],
    ['/pipelines/web-app/metrics', { verbose: 'true' }, 'invalid query'],
    ['/pipelines/web-app/executions', { limit: '500' }, 'invalid query'],
    ['/pipelines/web%20app/metrics', undefined, 'invalid pipeline name'],
  ])('refuses %s %j with a 400 and the reason', async (path, query, message) => {
    const r = await handleDeliveryRequest(request(path, query), deps());
    expect(r.statusCode).toBe(400);
    expect(body(r).message).toBe(message);
  });

  it('refuses a request without an IAM identity (a route deployed without the authorizer), and unknown routes', async () => {
    expect(
      (await handleDeliveryRequest(request('/pipelines/web-app/metrics', undefined, false), deps())).statusCode,
    ).toBe(403);
    expect((await handleDeliveryRequest(request('/pipelines/web-app/other'), deps())).statusCode).toBe(404);
    const post = request('/pipelines/web-app/metrics');
    post.requestContext.http.method = 'POST';
    expect((await handleDeliveryRequest(post, deps())).statusCode).toBe(405);
  });

  it('answers 503 with Retry-After when the table is unavailable after retries', async () => {
    const d = deps();
    d.delivery.list = async () => {
      throw new UnavailableError('delivery summary Query: ThrottlingException');
    };
    const r = await handleDeliveryRequest(request('/pipelines/web-app/metrics'), d);
    expect(r.statusCode).toBe(503);
    expect(r.headers).toMatchObject({ 'retry-after': '2' });
  });
});
