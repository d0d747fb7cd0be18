import { randomUUID } from 'node:crypto';
import type { AwsError, RawResponse } from '../services/types.ts';
import { xmlEscape } from './aws-query.ts';

/** restJson errors (Lambda, SES v2): `x-amzn-ErrorType` header plus a `{ message }` body. */
export const restJsonError = (error: AwsError, requestId: string = randomUUID()): RawResponse => ({
  status: error.status,
  headers: {
    'content-type': 'application/json',
    'x-amzn-requestid': requestId,
    'x-amzn-errortype': error.code,
  },
  body: JSON.stringify({ Type: error.fault === 'Sender' ? 'User' : 'Service', message: error.message }),
});

export const restJsonResponse = (status: number, body: unknown, requestId: string = randomUUID()): RawResponse => ({
  status,
  headers: { 'content-type': 'application/json', 'x-amzn-requestid': requestId },
  body: body === undefined ? '' : JSON.stringify(body),
});

/** restXml errors (S3): `<Error><Code/><Message/><RequestId/></Error>`. */
export const restXmlError = (error: AwsError, requestId: string = randomUUID(), resource?: string): RawResponse => ({
  status: error.status,
  headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId },
  body:
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${xmlEscape(error.code)}</Code><Message>${xmlEscape(error.message)}</Message>` +
    `${resource ? `<Resource>${xmlEscape(resource)}</Resource>` : ''}<RequestId>${requestId}</RequestId></Error>`,
});
