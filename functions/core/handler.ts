import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger, metrics } from './powertools.ts';
import { tracingMiddleware } from './tracing.ts';

export type LambdaFn<E, R> = (event: E, context: Context) => Promise<R>;

/**
 * Wraps a use-case entry point with the house middlewares: Powertools logger context (keys reset per
 * invocation, correlation id from the event), metrics flushed once per invocation with the cold-start metric,
 * and X-Ray subsegments when tracing is on (tracing.ts). Events are never logged (`logEvent` stays off).
 */
export const lambdaHandler = <E, R>(fn: LambdaFn<E, R>, options: { correlationIdPath?: string } = {}) =>
  middy<E, R>()
    .use(tracingMiddleware())
    .use(
      injectLambdaContext(logger, {
        resetKeys: true,
        ...(options.correlationIdPath ? { correlationIdPath: options.correlationIdPath } : {}),
      }),
    )
    .use(logMetrics(metrics, { captureColdStartMetric: true, throwOnEmptyMetrics: false }))
    .handler(fn);
