import type { Tracer } from '@aws-lambda-powertools/tracer';
import type { MiddlewareObj } from '@middy/core';

/**
 * X-Ray subsegments from Powertools Tracer (the handler and each AWS SDK call), only where the template turns them on
 * with `POWERTOOLS_TRACE_ENABLED=true` (the `SdkTracing` parameter). Lambda's own Active tracing (the function's
 * segment, init and invocation) does not depend on it. The Tracer and the X-Ray SDK behind it are loaded only when
 * enabled: a function with tracing off never evaluates them (measured: 30–70 ms of init).
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

/** Loaded at init (top-level await) when enabled, so every client built afterwards is captured. */
export const tracing: Tracing | undefined = tracingEnabled() ? await load() : undefined;

/** The client, instrumented for X-Ray when tracing is on. */
export const traced = <C>(client: C): C => (tracing ? tracing.tracer.captureAWSv3Client(client) : client);
