import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger, metrics } from './powertools.ts';
import { tracingMiddleware } from './tracing.ts';

export type LambdaFn<E, R> = (event: E, context: Context) => Promise<R>;

/** Turns the raw event into the use case's input; throws a ValidationError (with the issues) for bad input. */
export type Parse<E> = (raw: unknown) => E;

/**
 * The boundary, one way for every function: the raw event is parsed before the use case runs, so use cases take
 * typed input and never see a raw event. Runs after the logger middleware, so a refusal is logged with the
 * invocation's context; the refusal itself propagates (the platform's retry and dead-letter queue take it).
 */
const parsing = <E>(parse: Parse<E>): middy.MiddlewareObj<unknown> => ({
  before: (request) => {
    request.event = parse(request.event);
  },
});

/**
 * Wraps a use-case entry point with the house middlewares: Powertools logger context (keys reset per
 * invocation, correlation id from the event), metrics flushed once per invocation with the cold-start metric,
 * and X-Ray subsegments when tracing is on (tracing.ts). Events are never logged (`logEvent` stays off).
 */
export const lambdaHandler = <E, R>(
  fn: LambdaFn<E, R>,
  options: { correlationIdPath?: string; parse?: Parse<E> } = {},
) => {
  // The platform hands over whatever it was given: the wrapped handler takes `unknown`, the use case its type.
  const handler = middy<unknown, R>()
    .use(tracingMiddleware())
    .use(
      injectLambdaContext(logger, {
        resetKeys: true,
        ...(options.correlationIdPath ? { correlationIdPath: options.correlationIdPath } : {}),
      }),
    )
    .use(logMetrics(metrics, { captureColdStartMetric: true, throwOnEmptyMetrics: false }));
  return (options.parse ? handler.use(parsing(options.parse)) : handler).handler((event, context) =>
    fn(event as E, context),
  );
};
