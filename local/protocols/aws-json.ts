import { randomUUID } from 'node:crypto';
import { AwsError, QueryMap, type RawResponse } from '../services/types.ts';

/**
 * awsJson 1.0/1.1: the request body is the operation input as JSON, the response body the output. Timestamps are
 * epoch seconds; errors carry `__type` in the body and `x-amzn-ErrorType` as a header, as the SDKs read them.
 */
export const jsonContentType = (version: '1.0' | '1.1') => `application/x-amz-json-${version}`;

/** Parses a JSON protocol body; an empty body is `{}`. A body that is not a JSON object is a SerializationException. */
export const parseJsonBody = (body: Buffer): Record<string, unknown> => {
  const text = body.toString('utf8').trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AwsError('SerializationException', 'Request body is not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new AwsError('SerializationException', 'Request body must be a JSON object');
  }
  return value as Record<string, unknown>;
};

/** Converts an operation's output to JSON-protocol values: Date → epoch seconds, QueryMap → object. */
export const toJsonValue = (value: unknown): unknown => {
  if (value instanceof Date) return value.getTime() / 1000;
  if (value instanceof QueryMap) return toJsonValue(value.entries);
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJsonValue(v);
    return out;
  }
  return value;
};

export const jsonResponse = (
  version: '1.0' | '1.1',
  output: unknown,
  requestId: string = randomUUID(),
): RawResponse => ({
  status: 200,
  headers: { 'content-type': jsonContentType(version), 'x-amzn-requestid': requestId },
  body: JSON.stringify(toJsonValue(output ?? {})),
});

export const jsonError = (version: '1.0' | '1.1', error: AwsError, requestId: string = randomUUID()): RawResponse => ({
  status: error.status,
  headers: {
    'content-type': jsonContentType(version),
    'x-amzn-requestid': requestId,
    'x-amzn-errortype': error.code,
  },
  body: JSON.stringify({ __type: error.code, message: error.message }),
});
