import type { Tracer } from '@aws-lambda-powertools/tracer';
import type { MiddlewareObj } from '@middy/core';

/**
 * X-Ray subsegments from Powertools Tracer (the handler and each AWS SDK call), only where the template turns them on
 * with `POWERTOOLS_TRACE_ENABLED=true` (the `SdkTracing` parameter). Lambda's own Active tracing (the function's
 * segment, init and invocation) does not depend on it. The Tracer and the X-Ray SDK behind it are loaded only when
 * enabled: a function with tracing off never evaluates them (measured: 30–70 ms of init).
 *
 * Loading starts at init without a top-level await (a module that awaits at its top level, loaded in a worker that
 * is terminated mid-evaluation, crashed V8 in the local runtime), and the handler middleware waits for it before the
 * first invocation runs; clients built before it finished are captured as soon as it has.
 */
export type Tracing = { tracer: Tracer; middleware: MiddlewareObj };

export const tracingEnabled = (env: NodeJS.ProcessEnv = process.env): boolean =>
  ['true', '1'].includes((env.POWERTOOLS_TRACE_ENABLED ?? '').trim().toLowerCase());

const load = async (): Promise<Tracing> => {
  const [{ Tracer }, { captureLambdaHandler }] = await Promise.all([
    import('@aws-lambda-powertools/tracer'),
    import('@aws-lambda-powertools/tracer/middleware'),
  ]);
  const tracer = new Tracer({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'stagecrew' });
  return { tracer, middleware: captureLambdaHandler(tracer, { captureResponse: false }) };
};

const enabled = tracingEnabled();
let loaded: Tracing | undefined;
const waiting: object[] = [];

/** The Tracer once loaded (undefined when tracing is off); a failed load surfaces at the first invocation. */
const loading: Promise<Tracing> | undefined = enabled
  ? load().then((t) => {
      loaded = t;
      for (const client of waiting.splice(0)) t.tracer.captureAWSv3Client(client);
      return t;
    })
  : undefined;
loading?.catch(() => undefined);

/** Resolves when tracing is ready (or at once when it is off). */
export const tracing = async (): Promise<Tracing | undefined> => (loading ? await loading : undefined);

/** The client, instrumented for X-Ray when tracing is on (now, or as soon as the Tracer has loaded). */
export const traced = <C extends object>(client: C): C => {
  if (!enabled) return client;
  if (loaded) return loaded.tracer.captureAWSv3Client(client);
  waiting.push(client);
  return client;
};

type Hook = NonNullable<MiddlewareObj['before']>;
const delegate =
  (pick: (m: MiddlewareObj) => Hook | undefined): Hook =>
  async (request) => {
    const t = await tracing();
    const hook = t ? pick(t.middleware) : undefined;
    if (hook) await hook(request);
  };

/** The handler middleware (segments per invocation), or none when tracing is off. */
export const tracingMiddleware = (): MiddlewareObj[] =>
  enabled
    ? [
        {
          before: delegate((m) => m.before),
          after: delegate((m) => m.after),
          onError: delegate((m) => m.onError),
        },
      ]
    : [];
