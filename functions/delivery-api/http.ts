import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { DeliveryReader, TimelineReader } from '#core/adapters/read-models';
import type { TeardownRuns } from '#core/delivery/ports';
import { lastDays, MAX_WINDOW_DAYS, pipelineFigures } from '#core/delivery/query';
import { StagecrewError } from '#core/errors';
import type { Clock, Log } from '#core/ports';
import * as z from '#core/schemas/zod';
import type { Settings } from '#core/settings';
import { pipelineHistory } from '#core/timeline/query';

/**
 * The read API: a pipeline's executions (the timeline) and its delivery figures, as JSON. API Gateway checks the
 * caller's SigV4 signature and IAM permission (`execute-api:Invoke`) before the function runs; the function still
 * refuses a request that carries no IAM identity, so a route deployed without the authorizer cannot leak.
 */
export type DeliveryApiDeps = {
  timeline: TimelineReader;
  delivery: DeliveryReader;
  teardown: TeardownRuns;
  settings: () => Promise<Settings>;
  clock: Clock;
  logger: Log;
};

/** CodePipeline's pipeline name rule (`[A-Za-z0-9.@\-_]+`, 1–100). */
const PipelineName = z.string().check(z.regex(/^[A-Za-z0-9.@\-_]{1,100}$/, 'must be a CodePipeline pipeline name'));

const Isoish = z.string().check(z.refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO 8601 date or time'));

const MetricsQuery = z.strictObject({
  from: z.optional(Isoish),
  to: z.optional(Isoish),
  days: z.optional(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(MAX_WINDOW_DAYS))),
});

const ExecutionsQuery = z.strictObject({
  limit: z.optional(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(100))),
});

const json = (statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' },
  body: JSON.stringify(body),
});

const refuse = (statusCode: number, message: string, issues?: string[]) =>
  json(statusCode, issues?.length ? { message, issues } : { message });

const issuesOf = (error: z.core.$ZodError): string[] =>
  error.issues.map((i) => `${i.path.join('.') || '(query)'}: ${i.message}`);

const ROUTES = /^\/pipelines\/([^/]+)\/(executions|metrics)\/?$/;

export const handleDeliveryRequest = async (
  event: APIGatewayProxyEventV2,
  deps: DeliveryApiDeps,
): Promise<APIGatewayProxyStructuredResultV2> => {
  const caller = (event.requestContext as { authorizer?: { iam?: { userArn?: string | null } } }).authorizer?.iam;
  if (!caller) return refuse(403, 'Forbidden');
  if (event.requestContext.http.method !== 'GET') return refuse(405, 'Method Not Allowed');
  const route = ROUTES.exec(event.rawPath);
  if (!route) return refuse(404, 'Not Found');
  const name = PipelineName.safeParse(event.pathParameters?.name ?? decodeURIComponent(route[1] as string));
  if (!name.success) return refuse(400, 'invalid pipeline name', issuesOf(name.error));
  const query = event.queryStringParameters ?? {};
  try {
    if (route[2] === 'executions') {
      const q = ExecutionsQuery.safeParse(query);
      if (!q.success) return refuse(400, 'invalid query', issuesOf(q.error));
      const executions = await pipelineHistory(deps.timeline, name.data, q.data.limit ?? 25);
      return json(200, { pipeline: name.data, executions });
    }
    const q = MetricsQuery.safeParse(query);
    if (!q.success) return refuse(400, 'invalid query', issuesOf(q.error));
    const window = windowOf(q.data, deps.clock.now());
    if (typeof window === 'string') return refuse(400, window);
    const settings = await deps.settings();
    const figures = await pipelineFigures(deps, settings.delivery, name.data, window);
    deps.logger.info('delivery figures read', { pipeline: name.data, caller: caller.userArn ?? undefined });
    return json(200, figures);
  } catch (err) {
    if (err instanceof StagecrewError && err.retryable) {
      deps.logger.warn('delivery read unavailable', { error: err.message });
      return { ...refuse(503, 'Service Unavailable, try again'), headers: { 'retry-after': '2' } };
    }
    throw err;
  }
};

/** `from`/`to` (ISO), or `days` ending now (default 30); a window of at most 92 days, `from` before `to`. */
const windowOf = (q: z.infer<typeof MetricsQuery>, now: Date): { from: Date; to: Date } | string => {
  if (q.days !== undefined && (q.from !== undefined || q.to !== undefined)) return 'give either days or from/to';
  if (q.from === undefined && q.to === undefined) return lastDays(now, q.days ?? 30);
  const to = q.to !== undefined ? new Date(q.to) : now;
  const from = q.from !== undefined ? new Date(q.from) : new Date(to.getTime() - 30 * 86_400_000);
  if (from >= to) return 'from must be before to';
  if (to.getTime() - from.getTime() > MAX_WINDOW_DAYS * 86_400_000)
    return `a window is at most ${MAX_WINDOW_DAYS} days`;
  return { from, to };
};
