import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { jsonError, jsonResponse, parseJsonBody } from './protocols/aws-json.ts';
import { decodeQuery, parseForm, queryError, queryResponse } from './protocols/aws-query.ts';
import { restJsonError, restXmlError } from './protocols/rest.ts';
import { type CredentialScope, credentialScope } from './protocols/sigv4.ts';
import { type FaultRule, type Faults, faultError } from './runtime/faults.ts';
import { fromHttpApiResult, type HttpRoute, iamAuthorizer, matchRoute, toHttpApiEvent } from './runtime/http-api.ts';
import { FunctionError, FunctionNotFoundError, type Invoker } from './runtime/invoker.ts';
import type { Meter } from './runtime/meter.ts';
import type { Partition, Partitions } from './runtime/partitions.ts';
import type { DynamoDb } from './services/dynamodb/index.ts';
import { handleSlack } from './services/slack/index.ts';
import { callerOf } from './services/sts/index.ts';
import {
  AwsError,
  type Caller,
  type JsonService,
  type LocalContext,
  type LocalService,
  type QueryService,
  type RawRequest,
  type RawResponse,
  type RestService,
} from './services/types.ts';

/**
 * The local cloud's single HTTP endpoint. Dispatch order:
 * 1. `/_local/*` control routes and the dashboard; `/_slack/*` the Slack Web API look-alike;
 * 2. requests signed with SigV4 go to an AWS service: by `X-Amz-Target` (awsJson), by the credential scope's
 *    service and the form `Action` (awsQuery), or by signing name (REST: lambda, s3, ses);
 * 3. anything else is the app's own HTTP API, routed from the template's `HttpApi` events (payload 2.0).
 */
export type Dispatcher = {
  ctx: LocalContext;
  services: LocalService[];
  dynamodb: DynamoDb;
  invoker: Invoker;
  routes: () => HttpRoute[];
  /** Accounts and regions: a signed request is served in the partition of its access key's account and its region. */
  partitions: Partitions;
  control: (request: RawRequest) => Promise<RawResponse>;
  ready: Promise<void>;
  /** Counts calls and HTTP API requests (`/_local/meter`). */
  meter?: Meter;
  /** Injected faults (`/_local/faults`); none unless a test adds a rule. */
  faults?: Faults;
};

type Protocol = 'json' | 'query' | 'rest-json' | 'rest-xml';

/** What an injected fault does to this request: answered here, or processed and then cut off. */
type FaultOutcome = { answer?: RawResponse; dropAfter: boolean; dropped: boolean };

const errorFor = (protocol: Protocol, e: AwsError, version: '1.0' | '1.1', path: string): RawResponse => {
  const requestId = randomUUID();
  if (protocol === 'json') return jsonError(version, e, requestId);
  if (protocol === 'query') return queryError(e, requestId);
  if (protocol === 'rest-xml') return restXmlError(e, requestId, path);
  return restJsonError(e, requestId);
};

const MAX_BODY = 16 * 1024 * 1024;

export const readBody = (req: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new AwsError('RequestEntityTooLargeException', 'Request body exceeds 16 MB', 413));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

const flatHeaders = (req: IncomingMessage): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(',') : v;
  return out;
};

const send = (res: ServerResponse, response: RawResponse): void => {
  const body = response.body ?? '';
  const headers: Record<string, string> = { ...response.headers };
  const declared = Object.keys(headers).find((k) => k.toLowerCase() === 'content-length');
  // A HEAD answer describes the entity a GET would return (S3 HeadObject's ContentLength): keep the handler's
  // content-length and send no body.
  if (res.req?.method === 'HEAD') {
    if (declared === undefined) headers['content-length'] = String(Buffer.byteLength(body));
    res.writeHead(response.status, headers);
    res.end();
    return;
  }
  if (declared !== undefined) delete headers[declared];
  headers['content-length'] = String(Buffer.byteLength(body));
  res.writeHead(response.status, headers);
  res.end(body);
};

/** The awsQuery `Action` of a request (form body or query string), for metering and fault rules. */
const queryAction = (raw: RawRequest): string => {
  const fromQuery = raw.query.get('Action');
  if (fromQuery) return fromQuery;
  const m = /(?:^|&)Action=([^&]*)/.exec(raw.body.toString('utf8'));
  if (!m) return 'unknown';
  try {
    return decodeURIComponent((m[1] as string).replace(/\+/g, ' '));
  } catch {
    return 'unknown';
  }
};

/** Signing names of services that speak restXml: their clients parse only an XML error. */
const REST_XML_SERVICES = new Set(['s3', 's3control', 's3-outposts', 'route53', 'route53domains', 'cloudfront']);

/**
 * A service the local cloud does not emulate, answered in that service's own protocol so the client raises a clean
 * service error instead of failing to parse: EC2's XML, awsQuery's XML (IAM, STS, SES v1, CloudWatch, …), restXml's
 * XML, or JSON. 501, as a server that does not implement the request.
 */
export const unknownService = (service: string, raw: RawRequest): RawResponse => {
  const error = new AwsError('NotImplemented', `Service "${service}" is not emulated by the local cloud`, 501);
  const requestId = randomUUID();
  if (service === 'ec2') {
    return {
      status: error.status,
      headers: { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': requestId },
      body:
        '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>' +
        `<Code>${error.code}</Code><Message>${error.message}</Message>` +
        `</Error></Errors><RequestID>${requestId}</RequestID></Response>`,
    };
  }
  if (queryAction(raw) !== 'unknown') return queryError(error, requestId);
  if (REST_XML_SERVICES.has(service)) return restXmlError(error, requestId);
  return restJsonError(error, requestId);
};

/** A partition's services by how requests name them: X-Amz-Target prefix (awsJson) and signing name (the rest). */
type Directory = { byTarget: Map<string, JsonService>; bySigningName: Map<string, QueryService | RestService> };

const directoryOf = (services: LocalService[]): Directory => {
  const byTarget = new Map<string, JsonService>();
  const bySigningName = new Map<string, QueryService | RestService>();
  for (const s of services) {
    if (s.protocol === 'json') byTarget.set(s.targetPrefix, s);
    else bySigningName.set(s.signingName, s);
  }
  return { byTarget, bySigningName };
};

/** Services whose state is global on AWS are served from the home partition whoever signs. */
const GLOBAL_SIGNING_NAMES = new Set(['s3', 'sts', 'iam']);

export const createRequestHandler = (d: Dispatcher) => {
  const directories = new WeakMap<Partition, Directory>();
  const directory = (p: Partition): Directory => {
    let found = directories.get(p);
    if (!found) {
      found = directoryOf(p.services);
      directories.set(p, found);
    }
    return found;
  };

  /**
   * One AWS operation the request names, with what the wrappers need: the service and operation (metering, fault
   * rules), the protocol (an injected fault's error shape) and how to answer it.
   */
  type Route = {
    service: string;
    operation: string;
    protocol: Protocol;
    version: '1.0' | '1.1';
    run(): Promise<RawResponse>;
  };

  /** The router: which AWS operation a request is, by X-Amz-Target, then by the SigV4 (or SigV2) scope. */
  const routeOf = (
    raw: RawRequest,
    target: string | undefined,
    scope: CredentialScope | undefined,
  ): Route | undefined => {
    const where = serving(scope);
    if ('error' in where) {
      // The protocol of the service the client meant, so it parses the refusal.
      const svc = scope && directory(d.partitions.home).bySigningName.get(scope.service);
      const protocol: Protocol = target !== undefined ? 'json' : (svc?.protocol ?? 'rest-json');
      const answer = errorFor(protocol, where.error, '1.1', raw.path);
      return { service: '', operation: '', protocol, version: '1.1', run: async () => answer };
    }
    const { c, dir } = where;
    const { byTarget, bySigningName } = dir;
    if (target !== undefined) {
      const dot = target.lastIndexOf('.');
      const svc = byTarget.get(target.slice(0, dot));
      const run = () => json(svc, target, raw.body, c);
      // An unknown target prefix is answered (UnknownOperationException) but neither metered nor faulted.
      if (!svc) return { service: '', operation: '', protocol: 'json', version: '1.1', run };
      return {
        service: svc.id,
        operation: target.slice(dot + 1),
        protocol: 'json',
        version: svc.jsonVersion ?? '1.1',
        run,
      };
    }
    // A signed request to the app's own HTTP API (an AWS_IAM route) is not an AWS service call.
    if (!scope || scope.service === 'execute-api') return undefined;
    if (scope.service === 'lambda') {
      const invoke = /\/invocations\/?$/.test(raw.path) && raw.method === 'POST';
      return {
        service: 'lambda',
        operation: invoke ? 'Invoke' : `${raw.method} ${raw.path}`,
        protocol: 'rest-json',
        version: '1.1',
        run: () => lambdaApi(raw, c),
      };
    }
    const svc = bySigningName.get(scope.service);
    if (svc?.protocol === 'query') {
      return {
        service: svc.id,
        operation: queryAction(raw),
        protocol: 'query',
        version: '1.1',
        run: () => query(svc, raw, c),
      };
    }
    if (svc) {
      const operation = `${raw.method} ${raw.path}`;
      return { service: svc.id, operation, protocol: svc.protocol, version: '1.1', run: () => rest(svc, raw, c) };
    }
    return {
      service: '',
      operation: '',
      protocol: 'rest-json',
      version: '1.1',
      run: async () => unknownService(scope.service, raw),
    };
  };

  /**
   * Where a request is served: the partition of the account its access key belongs to (a 12-digit key names an
   * account, an `sts:AssumeRole` key its role's account, any other key the local cloud's own) and of the region its
   * signature names, with the caller attached. Global services (S3, STS) are served from the home partition. An
   * expired session key is refused as AWS refuses it.
   */
  const serving = (scope: CredentialScope | undefined): { c: LocalContext; dir: Directory } | { error: AwsError } => {
    if (!scope) return { c: d.ctx, dir: directory(d.partitions.home) };
    let caller: Caller;
    try {
      caller = callerOf(d.ctx.store, scope.accessKeyId, d.ctx.accountId);
    } catch (err) {
      return { error: toAwsError(err, d.ctx) };
    }
    const global = GLOBAL_SIGNING_NAMES.has(scope.service);
    const p = global ? d.partitions.home : d.partitions.get(caller.accountId, scope.region);
    return { c: { ...p.ctx, caller }, dir: directory(p) };
  };

  /** The wrappers every AWS operation passes: metering, then an injected fault, then the operation. */
  const serve = async (res: ServerResponse, route: Route, path: string): Promise<void> => {
    if (route.service === '') return send(res, await route.run());
    d.meter?.call(route.service, route.operation);
    const f = await fault(res, route.service, route.operation, route.protocol, route.version, path);
    if (f.dropped) return;
    if (f.answer) return send(res, f.answer);
    return finish(res, await route.run(), f.dropAfter);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    await d.ready;
    const url = new URL(req.url ?? '/', 'http://local');
    const path = url.pathname;
    const headers = flatHeaders(req);
    const target = headers['x-amz-target'];

    // DynamoDB is proxied to dynalite, streaming its answer: same wrappers, its own transport.
    if (target?.startsWith('DynamoDB_')) {
      const body = await readBody(req);
      const operation = target.slice(target.indexOf('.') + 1);
      d.meter?.call('dynamodb', operation);
      const f = await fault(res, 'dynamodb', operation, 'json', '1.0', path);
      if (f.dropped) return;
      if (f.answer) return send(res, f.answer);
      await d.dynamodb.proxy(req, body, res, f.dropAfter);
      if (f.dropAfter) res.destroy();
      return;
    }
    const body = await readBody(req);
    const raw: RawRequest = { method: req.method ?? 'GET', path, query: url.searchParams, headers, body };

    if (path === '/_local' || path.startsWith('/_local/')) return send(res, await d.control(raw));
    if (path.startsWith('/_slack/')) return send(res, await handleSlack(raw, d.ctx));

    const route = routeOf(raw, target, credentialScope(req.headers, url.searchParams));
    if (route) return serve(res, route, path);
    d.meter?.httpApiRequest();
    return send(res, await app(req, raw));
  };

  /** Applies the first injected fault rule matching this request, if any. */
  const fault = async (
    res: ServerResponse,
    service: string,
    operation: string,
    protocol: Protocol,
    version: '1.0' | '1.1',
    path: string,
  ): Promise<FaultOutcome> => {
    const hit = d.faults?.active ? d.faults.match(service, operation) : undefined;
    if (!hit) return { dropAfter: false, dropped: false };
    const rule: FaultRule = hit.rule;
    d.ctx.log.info('injected fault', { service, operation, fault: rule.fault, rule: rule.id });
    if (rule.fault === 'drop-after') return { dropAfter: true, dropped: false };
    if (rule.fault === 'drop' || rule.fault === 'timeout') {
      if (rule.fault === 'timeout') await new Promise((r) => setTimeout(r, rule.delayMs));
      res.destroy();
      return { dropAfter: false, dropped: true };
    }
    return { answer: errorFor(protocol, faultError(rule, protocol), version, path), dropAfter: false, dropped: false };
  };

  /** Sends the answer, or (an injected `drop-after`) closes the connection after the work was done. */
  const finish = (res: ServerResponse, response: RawResponse, dropAfter: boolean): void => {
    if (dropAfter) res.destroy();
    else send(res, response);
  };

  const json = async (
    svc: JsonService | undefined,
    target: string,
    body: Buffer,
    c: LocalContext,
  ): Promise<RawResponse> => {
    const operation = target.slice(target.lastIndexOf('.') + 1);
    const version = svc?.jsonVersion ?? '1.1';
    const requestId = randomUUID();
    try {
      const op = svc?.operations[operation];
      if (!svc || !op) {
        throw new AwsError('UnknownOperationException', `Unknown operation ${target}`);
      }
      const input = parseJsonBody(body);
      return jsonResponse(version, await op(input, c), requestId);
    } catch (err) {
      return jsonError(version, toAwsError(err, c), requestId);
    }
  };

  const query = async (svc: QueryService, raw: RawRequest, c: LocalContext): Promise<RawResponse> => {
    const requestId = randomUUID();
    try {
      const type = (raw.headers['content-type'] ?? '').toLowerCase();
      if (raw.body.length > 0 && !type.startsWith('application/x-www-form-urlencoded')) {
        throw new AwsError('ValidationError', `Query requests must be form-encoded, not "${type || 'none'}"`);
      }
      const pairs = [...parseForm(raw.query.toString()), ...parseForm(raw.body.toString('utf8'))];
      const { action, input } = decodeQuery(pairs);
      const op = svc.operations[action];
      if (!op) throw new AwsError('InvalidAction', `The action ${action} is not valid for this web service.`);
      return queryResponse(action, svc.xmlns, await op(input, c), requestId);
    } catch (err) {
      return queryError(toAwsError(err, c, 'ValidationError'), requestId);
    }
  };

  /** A REST service routes itself; an exception that escapes it still gets that protocol's error shape. */
  const rest = async (svc: RestService, raw: RawRequest, c: LocalContext): Promise<RawResponse> => {
    try {
      return await svc.handle(raw, c);
    } catch (err) {
      const e = toAwsError(err, c);
      return svc.protocol === 'rest-xml' ? restXmlError(e, randomUUID(), raw.path) : restJsonError(e);
    }
  };

  const lambdaApi = async (raw: RawRequest, c: LocalContext): Promise<RawResponse> => {
    const requestId = randomUUID();
    try {
      const invoke = /^\/2015-03-31\/functions\/([^/]+)\/invocations\/?$/.exec(raw.path);
      if (invoke && raw.method === 'POST') {
        const name = decodeURIComponent(invoke[1] as string);
        if (!d.invoker.get(name)) throw new AwsError('ResourceNotFoundException', `Function not found: ${name}`, 404);
        let payload: unknown = {};
        const text = raw.body.toString('utf8');
        if (text.trim() !== '') {
          try {
            payload = JSON.parse(text);
          } catch {
            throw new AwsError('InvalidRequestContentException', 'Could not parse request body into json', 400);
          }
        }
        const type = raw.headers['x-amz-invocation-type'] ?? 'RequestResponse';
        const base = { 'x-amzn-requestid': requestId, 'x-amz-executed-version': '$LATEST' };
        if (type === 'DryRun') return { status: 204, headers: base };
        if (type === 'Event') {
          await d.invoker.invoke(name, payload, 'Event');
          return { status: 202, headers: base };
        }
        if (type !== 'RequestResponse')
          throw new AwsError('InvalidParameterValueException', `Invalid InvocationType ${type}`);
        try {
          const result = await d.invoker.invoke(name, payload, 'RequestResponse');
          return {
            status: 200,
            headers: { ...base, 'content-type': 'application/json' },
            body: JSON.stringify(result ?? null),
          };
        } catch (err) {
          if (!(err instanceof FunctionError)) throw err;
          return {
            status: 200,
            headers: { ...base, 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' },
            body: JSON.stringify({ errorType: err.errorType, errorMessage: err.errorMessage, trace: err.trace }),
          };
        }
      }
      if (raw.method === 'GET' && /^\/2015-03-31\/functions\/?$/.test(raw.path)) {
        return {
          status: 200,
          headers: { 'content-type': 'application/json', 'x-amzn-requestid': requestId },
          body: JSON.stringify({ Functions: d.invoker.list().map(configuration) }),
        };
      }
      const get = /^\/2015-03-31\/functions\/([^/]+)\/?$/.exec(raw.path);
      if (raw.method === 'GET' && get) {
        const fn = d.invoker.get(decodeURIComponent(get[1] as string));
        if (!fn) throw new AwsError('ResourceNotFoundException', `Function not found: ${get[1]}`, 404);
        return {
          status: 200,
          headers: { 'content-type': 'application/json', 'x-amzn-requestid': requestId },
          body: JSON.stringify({ Configuration: configuration(fn) }),
        };
      }
      throw new AwsError('UnknownOperationException', `Lambda ${raw.method} ${raw.path} is not supported locally`, 404);
    } catch (err) {
      return restJsonError(toAwsError(err, c), requestId);
    }
  };

  /** The account an access key belongs to (an unknown or expired key: the local cloud's own). */
  const accountOf = (accessKeyId: string): string => {
    try {
      return callerOf(d.ctx.store, accessKeyId, d.ctx.accountId).accountId;
    } catch {
      return d.ctx.accountId;
    }
  };

  const app = async (req: IncomingMessage, raw: RawRequest): Promise<RawResponse> => {
    const match = matchRoute(d.routes(), raw.method, raw.path);
    const jsonMessage = (status: number, message: string): RawResponse => ({
      status,
      headers: { 'content-type': 'application/json', 'apigw-requestid': randomUUID() },
      body: JSON.stringify({ message }),
    });
    if (!match) return jsonMessage(404, 'Not Found');
    let authorizer: Record<string, unknown> | undefined;
    if (match.route.auth === 'AWS_IAM') {
      // API Gateway refuses an unsigned request before the function runs (403, its own JSON message).
      const scope = credentialScope(req.headers, raw.query);
      if (scope?.service !== 'execute-api') return jsonMessage(403, 'Forbidden');
      authorizer = iamAuthorizer(scope.accessKeyId, accountOf(scope.accessKeyId));
    }
    const event = toHttpApiEvent(
      {
        method: raw.method,
        url: req.url ?? '/',
        headers: req.headers,
        body: raw.body,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      },
      match,
      { accountId: d.ctx.accountId, apiId: 'local', ...(authorizer ? { authorizer } : {}) },
    );
    try {
      const result = await d.invoker.invoke(match.route.functionName, event, 'RequestResponse');
      const out = fromHttpApiResult(result as Parameters<typeof fromHttpApiResult>[0]);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(out.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      return { status: out.status, headers, body: out.body };
    } catch (err) {
      d.ctx.log.error('http api handler failed', { route: match.route.path, errorType: (err as Error).name });
      return jsonMessage(500, 'Internal Server Error');
    }
  };

  return (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((err: unknown) => {
      d.ctx.log.error('request failed', { error: (err as Error).message, path: req.url });
      if (!res.headersSent) send(res, restJsonError(toAwsError(err, d.ctx)));
      else res.destroy();
    });
  };
};

const configuration = (fn: ReturnType<Invoker['list']>[number]) => ({
  FunctionName: fn.name,
  FunctionArn: fn.arn,
  Runtime: 'nodejs24.x',
  Handler: fn.exportName,
  Timeout: fn.timeoutSeconds,
  MemorySize: fn.memoryMb,
  State: 'Active',
  LastUpdateStatus: 'Successful',
  PackageType: 'Zip',
  Architectures: ['arm64'],
});

/** Everything that is not an AwsError is an internal failure (500): the details go to the log, not the client. */
export const toAwsError = (
  err: unknown,
  ctx: Pick<LocalContext, 'log'>,
  validation = 'ValidationException',
): AwsError => {
  if (err instanceof AwsError) return err;
  // An AwsError from another copy of the types module (or a look-alike) is still an AWS error.
  const like = err as { code?: unknown; status?: unknown; message?: unknown };
  if (typeof like?.code === 'string' && typeof like.status === 'number' && like.status >= 400 && like.status < 600) {
    return new AwsError(like.code, String(like.message ?? like.code), like.status);
  }
  if (err instanceof FunctionNotFoundError) return new AwsError('ResourceNotFoundException', err.message, 404);
  if (err instanceof SyntaxError) return new AwsError(validation, err.message);
  ctx.log.error('internal error', { error: (err as Error)?.message, stack: (err as Error)?.stack });
  return new AwsError('InternalFailure', 'The request processing has failed because of an unknown error.', 500);
};
