import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/**
 * API Gateway HTTP API (payload format 2.0) on the local endpoint: route matching for the template's
 * `HttpApi` events and the exact event shape Lambda receives, so handlers run unmodified.
 */
export type HttpRoute = {
  method: string;
  path: string;
  functionName: string;
  /** `AWS_IAM`: API Gateway requires a SigV4-signed request (service `execute-api`) before the function runs. */
  auth?: 'AWS_IAM';
};

/**
 * The caller identity an `AWS_IAM` route passes in `requestContext.authorizer.iam` (the documented payload 2.0
 * shape). The local cloud does not check signatures: the identity is the signing access key in the local account.
 */
export const iamAuthorizer = (accessKey: string, accountId: string) => {
  const userId = `AIDA${Buffer.from(accessKey).toString('hex').toUpperCase().slice(0, 17).padEnd(17, '0')}`;
  return {
    iam: {
      accessKey,
      accountId,
      callerId: userId,
      cognitoIdentity: null,
      principalOrgId: null,
      userArn: `arn:aws:iam::${accountId}:user/local`,
      userId,
    },
  };
};

export type RouteMatch = { route: HttpRoute; pathParameters: Record<string, string> };

/**
 * A path parameter, percent-decoded; malformed encoding (`%ZZ`) is passed on as received, so the function answers
 * it (the approval API returns 400) instead of the local server failing with a 500. What API Gateway itself does
 * with such a path is not verified here.
 */
const decodeParam = (raw: string): string => {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
};

/** Matches `/approvals/{id}` style routes (and `{proxy+}` greedy ones) the way API Gateway does. */
export const matchRoute = (routes: readonly HttpRoute[], method: string, path: string): RouteMatch | undefined => {
  const segments = path.split('/').filter(Boolean);
  for (const route of routes) {
    if (route.method !== 'ANY' && route.method.toUpperCase() !== method.toUpperCase()) continue;
    const parts = route.path.split('/').filter(Boolean);
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] as string;
      const seg = segments[i];
      const greedy = /^\{(\w+)\+\}$/.exec(part);
      if (greedy) {
        params[greedy[1] as string] = decodeParam(segments.slice(i).join('/'));
        i = segments.length;
        break;
      }
      if (seg === undefined) {
        ok = false;
        break;
      }
      const param = /^\{(\w+)\}$/.exec(part);
      if (param) params[param[1] as string] = decodeParam(seg);
      else if (part !== seg) {
        ok = false;
        break;
      }
    }
    if (ok && (parts.some((p) => p.endsWith('+}')) || parts.length === segments.length)) {
      return { route, pathParameters: params };
    }
  }
  return undefined;
};

/**
 * The bodies an HTTP API passes to Lambda as UTF-8 text; every other body — a missing Content-Type and
 * `application/x-www-form-urlencoded` (Slack interactions, the approval form) included — arrives base64-encoded
 * with `isBase64Encoded: true`. AWS documents the mechanism but not the list; this split was observed on real HTTP
 * APIs (payload 2.0, AWS_PROXY).
 */
const TEXT_TYPES = /^\s*(text\/|application\/(json|xml|javascript)\s*(;|$))/i;

export type HttpRequestInfo = {
  method: string;
  /** Raw path and query as received, e.g. /approvals/abc?sig=… */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  sourceIp: string;
};

/** Builds the payload 2.0 event API Gateway sends for a matched route. */
export const toHttpApiEvent = (
  req: HttpRequestInfo,
  match: RouteMatch,
  options: { accountId: string; apiId: string; stage?: string; now?: Date; authorizer?: Record<string, unknown> },
): APIGatewayProxyEventV2 => {
  const now = options.now ?? new Date();
  const url = new URL(req.url, 'http://local');
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (lower === 'cookie') cookies.push(...[value].flat().flatMap((v) => v.split(/;\s*/)));
    else headers[lower] = Array.isArray(value) ? value.join(',') : value;
  }
  const queryStringParameters: Record<string, string> = {};
  for (const [k, v] of url.searchParams) {
    queryStringParameters[k] = k in queryStringParameters ? `${queryStringParameters[k]},${v}` : v;
  }
  const contentType = headers['content-type'] ?? '';
  const isText = req.body.length === 0 || TEXT_TYPES.test(contentType);
  const routeKey = `${match.route.method} ${match.route.path}`;
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    headers,
    requestContext: {
      accountId: options.accountId,
      apiId: options.apiId,
      ...(options.authorizer ? { authorizer: options.authorizer } : {}),
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0] ?? 'localhost',
      http: {
        method: req.method.toUpperCase(),
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: req.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: options.stage ?? '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: !isText,
  };
  if (cookies.length > 0) event.cookies = cookies;
  if (Object.keys(queryStringParameters).length > 0) event.queryStringParameters = queryStringParameters;
  if (Object.keys(match.pathParameters).length > 0) event.pathParameters = match.pathParameters;
  if (req.body.length > 0) event.body = isText ? req.body.toString('utf8') : req.body.toString('base64');
  return event;
};

export type HttpResponse = { status: number; headers: Record<string, string | string[]>; body: Buffer };

/**
 * Turns a handler's result into the HTTP response API Gateway would send: a structured result as is; any other
 * value (string, object) as a 200 JSON body, per the payload 2.0 rules.
 */
export const fromHttpApiResult = (result: APIGatewayProxyResultV2 | undefined): HttpResponse => {
  if (result === undefined || result === null) return { status: 200, headers: {}, body: Buffer.alloc(0) };
  if (typeof result === 'object' && 'statusCode' in result) {
    const r = result as APIGatewayProxyStructuredResultV2;
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = String(v);
    if (r.cookies?.length) headers['set-cookie'] = r.cookies;
    const body = r.body === undefined ? Buffer.alloc(0) : Buffer.from(r.body, r.isBase64Encoded ? 'base64' : 'utf8');
    return { status: r.statusCode ?? 200, headers, body };
  }
  const body = typeof result === 'string' ? result : JSON.stringify(result);
  return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(body) };
};
