import type { DeserializeMiddleware, MetadataBearer, MiddlewareStack } from '@smithy/types';

/**
 * Scripted faults at the SDK middleware level: a middleware added to a real SDK v3 client (built with
 * `clientSettings()`, so the deployed retry strategy and attempt count apply) that answers each attempt from a
 * script instead of the network. It sits just inside the deserializer, so an error answer is parsed by the
 * client's real protocol code (awsJson, awsQuery XML, REST JSON) into the same exception AWS would produce, and a
 * thrown network error (`timeout`, `reset`) meets the retry strategy exactly as one from the HTTP handler does.
 *
 * Steps: `'ok'` (or `{ ok: body }`), `'throttle'`, `500`, `503`, `'timeout'` (the NodeHttpHandler's
 * `TimeoutError`/`ETIMEDOUT` with `throwOnRequestTimeout`), `'reset'` (`ECONNRESET`, a dropped connection), or
 * `{ error: 'SomeException', status }`. With a real endpoint behind the client: `'pass'` sends the attempt for real,
 * `'drop-after'` sends it for real and then throws `ECONNRESET` (the write happened, the caller cannot know).
 * When the script runs out, every further attempt is `'ok'` (`'pass'` if `passByDefault`).
 */
export type FaultStep =
  | 'pass'
  | 'drop-after'
  | 'ok'
  | { ok: string; status?: number }
  | 'throttle'
  | 500
  | 503
  | 'timeout'
  | 'reset'
  | { error: string; status: number; message?: string };

export type Attempt = { at: number; operation: string; step: FaultStep };

export type ScriptedFaults = {
  /** Every attempt that reached the network layer, in order, with `Date.now()` at the time. */
  attempts: Attempt[];
  /** Milliseconds between consecutive attempts (the backoff the retry strategy waited, plus nothing else). */
  gaps(): number[];
  /** Optional: sees each attempt's operation and body first; a step it returns replaces the script's. */
  onRequest?: (operation: string, body: string) => FaultStep | undefined;
};

type Protocol = 'json' | 'query' | 'rest-json';
type Request = { headers: Record<string, string>; body?: unknown };
type Stackable = { middlewareStack: Pick<MiddlewareStack<object, MetadataBearer>, 'add'> };

const protocolOf = (req: Request): Protocol => {
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v]));
  if (headers['x-amz-target']) return 'json';
  if ((headers['content-type'] ?? '').includes('x-www-form-urlencoded')) return 'query';
  return 'rest-json';
};

const THROTTLE: Record<Protocol, { code: string; status: number }> = {
  json: { code: 'ThrottlingException', status: 400 },
  query: { code: 'Throttling', status: 400 },
  'rest-json': { code: 'TooManyRequestsException', status: 429 },
};

const response = (status: number, body: string, headers: Record<string, string>) => ({
  response: {
    statusCode: status,
    reason: '',
    headers: { 'x-amzn-requestid': 'scripted', ...headers },
    body: Buffer.from(body),
  },
});

const errorResponse = (protocol: Protocol, code: string, status: number, message: string) => {
  if (protocol === 'query') {
    const type = status >= 500 ? 'Receiver' : 'Sender';
    return response(
      status,
      `<ErrorResponse><Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>scripted</RequestId></ErrorResponse>`,
      { 'content-type': 'text/xml' },
    );
  }
  if (protocol === 'json') {
    return response(status, JSON.stringify({ __type: code, message }), {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-errortype': code,
    });
  }
  return response(status, JSON.stringify({ message }), {
    'content-type': 'application/json',
    'x-amzn-errortype': code,
  });
};

const okResponse = (protocol: Protocol, operation: string, body?: string, status = 200) => {
  if (protocol === 'query') {
    return response(
      status,
      body ??
        `<${operation}Response><${operation}Result/><ResponseMetadata><RequestId>scripted</RequestId></ResponseMetadata></${operation}Response>`,
      { 'content-type': 'text/xml' },
    );
  }
  return response(status, body ?? '{}', { 'content-type': 'application/json' });
};

/** The error NodeHttpHandler throws when `requestTimeout` passes (with `throwOnRequestTimeout`). */
export const timeoutError = (): Error =>
  Object.assign(new Error('Connection timed out after 10000 ms'), { name: 'TimeoutError', code: 'ETIMEDOUT' });
/** What a connection cut by the server looks like to the SDK. */
export const resetError = (): Error => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

export const scriptFaults = (
  client: Stackable,
  script: readonly FaultStep[],
  options: { passByDefault?: boolean } = {},
): ScriptedFaults => {
  const attempts: Attempt[] = [];
  let i = 0;
  const scripted: ScriptedFaults = {
    attempts,
    gaps: () => attempts.slice(1).map((a, k) => a.at - (attempts[k] as Attempt).at),
  };
  const middleware: DeserializeMiddleware<object, MetadataBearer> = (next, context) => async (args) => {
    const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
    const request = args.request as Request;
    const planned: FaultStep = script[i++] ?? (options.passByDefault ? 'pass' : 'ok');
    const raw = request.body;
    const body = typeof raw === 'string' ? raw : raw instanceof Uint8Array ? Buffer.from(raw).toString('utf8') : '';
    const step = scripted.onRequest?.(operation, body) ?? planned;
    attempts.push({ at: Date.now(), operation, step });
    const protocol = protocolOf(request);
    if (step === 'pass') return next(args);
    if (step === 'drop-after') {
      await next(args);
      throw resetError();
    }
    if (step === 'timeout') throw timeoutError();
    if (step === 'reset') throw resetError();
    if (step === 'throttle') {
      const t = THROTTLE[protocol];
      return errorResponse(protocol, t.code, t.status, 'Rate exceeded (scripted)');
    }
    if (step === 500) return errorResponse(protocol, 'InternalFailure', 500, 'internal failure (scripted)');
    if (step === 503) return errorResponse(protocol, 'ServiceUnavailable', 503, 'unavailable (scripted)');
    if (step === 'ok') return okResponse(protocol, operation);
    if ('ok' in step) return okResponse(protocol, operation, step.ok, step.status);
    return errorResponse(protocol, step.error, step.status, step.message ?? `${step.error} (scripted)`);
  };
  client.middlewareStack.add(middleware, { step: 'deserialize', priority: 'low', name: 'scriptedFaults' });
  return scripted;
};
