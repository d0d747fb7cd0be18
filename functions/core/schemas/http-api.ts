import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { ValidationError } from '../errors.ts';
import * as z from './zod.ts';

/**
 * API Gateway HTTP API events (payload format 2.0), checked at the boundary of the functions behind the HTTP API:
 * the fields the transports read must be there with their types; everything else (cookies, authorizer, stage
 * variables, fields AWS adds later) is kept as it came. Routes then validate their own query and body.
 */
const HttpApiEvent = z.looseObject({
  version: z.literal('2.0'),
  routeKey: z.string(),
  rawPath: z.string(),
  rawQueryString: z.string(),
  headers: z.optional(z.record(z.string(), z.string())),
  queryStringParameters: z.optional(z.record(z.string(), z.string())),
  pathParameters: z.optional(z.record(z.string(), z.string())),
  requestContext: z.looseObject({
    requestId: z.string(),
    http: z.looseObject({ method: z.string(), path: z.string(), sourceIp: z.string() }),
  }),
  body: z.optional(z.string()),
  isBase64Encoded: z.boolean(),
});

export const parseHttpApiEvent = (raw: unknown): APIGatewayProxyEventV2 => {
  const parsed = HttpApiEvent.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ValidationError('not an HTTP API (payload 2.0) event', issues);
  }
  return parsed.data as unknown as APIGatewayProxyEventV2;
};
