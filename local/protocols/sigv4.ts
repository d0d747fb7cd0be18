/**
 * Reads the SigV4 credential scope of a request (`Authorization: AWS4-HMAC-SHA256 Credential=AKID/date/region/
 * service/aws4_request, …` or a presigned `X-Amz-Credential` query parameter). The local cloud accepts any
 * credentials and never checks the signature: the scope only tells which service the client meant.
 *
 * S3 still accepts Signature Version 2 (`Authorization: AWS AKID:signature`, or a query-string presigned URL with
 * `AWSAccessKeyId`, `Signature` and `Expires`, which older boto3 and SDKs produce). Those name no service or region:
 * they are S3's, in the default region.
 */
export type CredentialScope = { accessKeyId: string; date: string; region: string; service: string };

const SCOPE = /^([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request$/;

const parseScope = (credential: string): CredentialScope | undefined => {
  const m = SCOPE.exec(credential.trim());
  if (!m) return undefined;
  return { accessKeyId: m[1] as string, date: m[2] as string, region: m[3] as string, service: m[4] as string };
};

export const credentialScope = (
  headers: Record<string, string | string[] | undefined>,
  query: URLSearchParams,
): CredentialScope | undefined => {
  const auth = headers.authorization;
  const value = Array.isArray(auth) ? auth[0] : auth;
  if (value?.startsWith('AWS4-HMAC-SHA256')) {
    const m = /Credential=([^,\s]+)/.exec(value);
    if (m) return parseScope(m[1] as string);
  }
  const presigned = query.get('X-Amz-Credential');
  if (presigned) return parseScope(presigned);
  if (value?.startsWith('AWS ') && value.includes(':')) {
    return { accessKeyId: value.slice(4, value.indexOf(':')).trim(), date: '', region: SIGV2_REGION, service: 's3' };
  }
  // Legacy query-protocol requests signed with SigV2 carry an Action; an S3 presigned URL does not.
  if (query.has('AWSAccessKeyId') && query.has('Signature') && !query.has('Action')) {
    return { accessKeyId: query.get('AWSAccessKeyId') ?? '', date: '', region: SIGV2_REGION, service: 's3' };
  }
  return undefined;
};

const SIGV2_REGION = 'us-east-1';
