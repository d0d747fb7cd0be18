import { XMLParser } from 'fast-xml-parser';
import type { LocalContext, Operation, RawRequest, RawResponse } from '../types.ts';
import { AwsError } from '../types.ts';
import type { S3Backend, Version } from './backend.ts';
import { objectHeaders, VERSION_ORDER } from './operations.ts';
import {
  BUCKET_SUBRESOURCES,
  handleBucketSubresource,
  handleObjectSubresource,
  listParts,
  OBJECT_SUBRESOURCES,
} from './subresources.ts';
import { document, toXml, xmlResponse } from './xml.ts';

/**
 * The S3 REST (restXml, path-style) front: routes `/<bucket>/<key>` plus sub-resource query flags to the
 * SDK-shaped operations and writes S3's XML bodies, headers and `<Error>` documents.
 */
const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, isArray: (name) => name === 'Object' });

const requestId = () => Math.random().toString(16).slice(2, 18).toUpperCase();

export const errorResponse = (err: AwsError & { bucket?: string; key?: string }, method: string): RawResponse => {
  const id = requestId();
  const headers: Record<string, string> = { 'x-amz-request-id': id };
  const withMarker = err as AwsError & { deleteMarker?: Version };
  if (withMarker.deleteMarker) {
    headers['x-amz-delete-marker'] = 'true';
    if (withMarker.deleteMarker.versionId !== 'null') headers['x-amz-version-id'] = withMarker.deleteMarker.versionId;
  }
  // HEAD responses carry no body; clients map the status code.
  if (method === 'HEAD') return { status: err.status, headers };
  headers['content-type'] = 'application/xml';
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n${toXml('Error', {
    Code: err.code,
    Message: err.message,
    ...(err.bucket ? { BucketName: err.bucket } : {}),
    ...(err.key ? { Key: err.key } : {}),
    RequestId: id,
  })}`;
  return { status: err.status, headers, body };
};

const httpDate = (iso: string) => new Date(iso).toUTCString();

const getHeaders = (version: Version): Record<string, string> => {
  const h = objectHeaders(version);
  const headers: Record<string, string> = {
    'content-type': h.ContentType,
    'content-length': String(h.ContentLength),
    etag: h.ETag,
    'last-modified': httpDate(h.LastModified),
    'accept-ranges': 'bytes',
  };
  if (h.VersionId) headers['x-amz-version-id'] = h.VersionId;
  for (const [k, v] of Object.entries(h.Metadata ?? {})) headers[`x-amz-meta-${k.toLowerCase()}`] = v;
  return headers;
};

/**
 * Decodes an `aws-chunked` body (SDK v3 streams uploads this way with trailing checksums): each chunk is
 * `<hex size>[;chunk-signature=…]\r\n<bytes>\r\n`, ending with a zero-size chunk and optional trailers.
 */
export const decodeAwsChunked = (body: Buffer): Buffer => {
  const parts: Buffer[] = [];
  let pos = 0;
  while (pos < body.length) {
    const lineEnd = body.indexOf('\r\n', pos);
    if (lineEnd < 0) break;
    const size = Number.parseInt(body.subarray(pos, lineEnd).toString('latin1').split(';')[0] ?? '', 16);
    if (!Number.isFinite(size)) throw new AwsError('IncompleteBody', 'The request body terminated unexpectedly', 400);
    if (size === 0) break;
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    pos = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
};

const requestBody = (req: RawRequest): Buffer => {
  const encoding = req.headers['content-encoding'] ?? '';
  const sha = req.headers['x-amz-content-sha256'] ?? '';
  return encoding.includes('aws-chunked') || sha.startsWith('STREAMING-') ? decodeAwsChunked(req.body) : req.body;
};

const parseXml = (body: Buffer): Record<string, unknown> => {
  try {
    return parser.parse(body.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new AwsError(
      'MalformedXML',
      'The XML you provided was not well-formed or did not validate against our published schema',
      400,
    );
  }
};

const flag = (q: URLSearchParams, name: string) => q.has(name);

export const handleRest = async (
  req: RawRequest,
  ctx: LocalContext,
  ops: Record<string, Operation>,
  backend: S3Backend,
): Promise<RawResponse> => {
  const method = req.method.toUpperCase();
  try {
    const path = req.path.replace(/^\/+/, '');
    const slash = path.indexOf('/');
    const bucket = decodeURIComponent(slash < 0 ? path : path.slice(0, slash));
    const key = slash < 0 ? '' : decodeURIComponent(path.slice(slash + 1));
    const q = req.query;
    const call = async (op: string, input: Record<string, unknown>) =>
      (await (ops[op] as Operation)(input, ctx)) as Record<string, unknown>;

    if (!bucket) {
      if (method !== 'GET')
        throw new AwsError('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405);
      const out = await call('ListBuckets', {});
      return xmlResponse('ListAllMyBucketsResult', { Owner: out.Owner, Buckets: { Bucket: out.Buckets } });
    }

    if (!key) {
      // Every sub-resource S3 defines is routed to its own operation or refused: never to the bucket itself.
      const sub = BUCKET_SUBRESOURCES.find((s) => flag(q, s));
      if (sub !== undefined) {
        return handleBucketSubresource(sub, { method, q, body: requestBody(req) }, bucket, ctx, backend);
      }
      if (method === 'PUT' && flag(q, 'versioning')) {
        const doc = parseXml(requestBody(req)).VersioningConfiguration as Record<string, unknown> | undefined;
        await call('PutBucketVersioning', { Bucket: bucket, VersioningConfiguration: { Status: doc?.Status } });
        return { status: 200 };
      }
      if (method === 'PUT') {
        await call('CreateBucket', { Bucket: bucket });
        return { status: 200, headers: { location: `/${bucket}` } };
      }
      if (method === 'HEAD') {
        await call('HeadBucket', { Bucket: bucket });
        return { status: 200, headers: { 'x-amz-bucket-region': ctx.region } };
      }
      if (method === 'DELETE') {
        await call('DeleteBucket', { Bucket: bucket });
        return { status: 204 };
      }
      if (method === 'POST' && flag(q, 'delete')) {
        const doc = (parseXml(requestBody(req)).Delete ?? {}) as Record<string, unknown>;
        const out = await call('DeleteObjects', {
          Bucket: bucket,
          Delete: { Objects: doc.Object ?? [], Quiet: doc.Quiet },
        });
        return xmlResponse('DeleteResult', { Deleted: out.Deleted, Error: out.Errors });
      }
      if (method === 'GET' && flag(q, 'versioning')) {
        return xmlResponse('VersioningConfiguration', await call('GetBucketVersioning', { Bucket: bucket }));
      }
      if (method === 'GET' && flag(q, 'location')) {
        backend.bucket(ctx.store, bucket);
        return xmlResponse('LocationConstraint', {});
      }
      if (method === 'GET' && flag(q, 'versions')) {
        const out = await call('ListObjectVersions', {
          Bucket: bucket,
          Prefix: q.get('prefix') ?? undefined,
          KeyMarker: q.get('key-marker') ?? undefined,
          VersionIdMarker: q.get('version-id-marker') ?? undefined,
          MaxKeys: q.get('max-keys') ?? undefined,
        });
        const { Versions, DeleteMarkers, ...rest } = (q.get('encoding-type') === 'url' ? urlEncoded(out) : out) as {
          Versions: Array<Record<string, unknown>>;
          DeleteMarkers: Array<Record<string, unknown>>;
        };
        // S3 interleaves versions and delete markers in key order, newest first within a key.
        const order = (out as { [VERSION_ORDER]?: boolean[] })[VERSION_ORDER] ?? [];
        let vi = 0;
        let di = 0;
        const merged = order.map((isMarker) =>
          isMarker ? (['DeleteMarker', DeleteMarkers[di++]] as const) : (['Version', Versions[vi++]] as const),
        );
        const body = document('ListVersionsResult', rest).replace(
          '</ListVersionsResult>',
          `${merged.map(([tag, v]) => toXml(tag, v)).join('')}</ListVersionsResult>`,
        );
        return { status: 200, headers: { 'content-type': 'application/xml' }, body };
      }
      if (method === 'GET') {
        const v2 = q.get('list-type') === '2';
        const out = await call(v2 ? 'ListObjectsV2' : 'ListObjects', {
          Bucket: bucket,
          Prefix: q.get('prefix') ?? undefined,
          Delimiter: q.get('delimiter') ?? undefined,
          MaxKeys: q.get('max-keys') ?? undefined,
          ContinuationToken: q.get('continuation-token') ?? undefined,
          StartAfter: q.get('start-after') ?? undefined,
          Marker: q.get('marker') ?? undefined,
        });
        return xmlResponse('ListBucketResult', q.get('encoding-type') === 'url' ? urlEncoded(out) : out);
      }
      throw new AwsError('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405);
    }

    const versionId = q.get('versionId') ?? undefined;
    const objectSub = OBJECT_SUBRESOURCES.find((s) => flag(q, s));
    if (objectSub !== undefined) {
      return handleObjectSubresource(objectSub, { method, q, body: requestBody(req) }, bucket, key, ctx, backend);
    }
    if (method === 'GET' && q.has('uploadId')) return listParts(q, bucket, key, ctx, backend);
    if (method === 'PUT' && req.headers['x-amz-copy-source'] && q.has('uploadId')) {
      // UploadPartCopy: a part copied from another object, not a CopyObject onto this key.
      const out = await call('UploadPartCopy', {
        Bucket: bucket,
        Key: key,
        UploadId: q.get('uploadId'),
        PartNumber: q.get('partNumber'),
        CopySource: req.headers['x-amz-copy-source'],
        CopySourceRange: req.headers['x-amz-copy-source-range'],
      });
      const headers: Record<string, string> = { 'content-type': 'application/xml' };
      if (out.CopySourceVersionId) headers['x-amz-copy-source-version-id'] = String(out.CopySourceVersionId);
      return { status: 200, headers, body: document('CopyPartResult', out.CopyPartResult as Record<string, unknown>) };
    }
    if (method === 'PUT' && req.headers['x-amz-copy-source']) {
      const out = await call('CopyObject', {
        Bucket: bucket,
        Key: key,
        CopySource: req.headers['x-amz-copy-source'],
        MetadataDirective: req.headers['x-amz-metadata-directive'],
        ContentType: req.headers['content-type'],
        Metadata: metadataFrom(req.headers),
      });
      const headers: Record<string, string> = { 'content-type': 'application/xml' };
      if (out.VersionId) headers['x-amz-version-id'] = String(out.VersionId);
      if (out.CopySourceVersionId) headers['x-amz-copy-source-version-id'] = String(out.CopySourceVersionId);
      return {
        status: 200,
        headers,
        body: document('CopyObjectResult', out.CopyObjectResult as Record<string, unknown>),
      };
    }
    const uploadId = q.get('uploadId') ?? undefined;
    if (method === 'POST' && flag(q, 'uploads')) {
      const out = await call('CreateMultipartUpload', {
        Bucket: bucket,
        Key: key,
        ContentType: req.headers['content-type'],
        Metadata: metadataFrom(req.headers),
      });
      return xmlResponse('InitiateMultipartUploadResult', out);
    }
    if (method === 'PUT' && uploadId !== undefined) {
      const out = await call('UploadPart', {
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        PartNumber: q.get('partNumber'),
        Body: requestBody(req),
      });
      return { status: 200, headers: { etag: String(out.ETag) } };
    }
    if (method === 'POST' && uploadId !== undefined) {
      const doc = (parseXml(requestBody(req)).CompleteMultipartUpload ?? {}) as { Part?: unknown };
      const parts = Array.isArray(doc.Part) ? doc.Part : doc.Part ? [doc.Part] : [];
      const out = await call('CompleteMultipartUpload', {
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      });
      const { VersionId, ...body } = out;
      return {
        status: 200,
        headers: { 'content-type': 'application/xml', ...(VersionId ? { 'x-amz-version-id': String(VersionId) } : {}) },
        body: document('CompleteMultipartUploadResult', body),
      };
    }
    if (method === 'DELETE' && uploadId !== undefined) {
      await call('AbortMultipartUpload', { Bucket: bucket, Key: key, UploadId: uploadId });
      return { status: 204 };
    }
    if (method === 'PUT') {
      const out = await call('PutObject', {
        Bucket: bucket,
        Key: key,
        Body: requestBody(req),
        ContentType: req.headers['content-type'],
        Metadata: metadataFrom(req.headers),
      });
      const headers: Record<string, string> = { etag: String(out.ETag) };
      if (out.VersionId) headers['x-amz-version-id'] = String(out.VersionId);
      return { status: 200, headers };
    }
    if (method === 'GET' || method === 'HEAD') {
      const version = backend.getVersion(ctx.store, bucket, key, versionId);
      const headers = getHeaders(version);
      if (method === 'HEAD') return { status: 200, headers };
      const body = backend.readBody(bucket, version);
      const range = req.headers.range ? parseRange(req.headers.range, body.length) : undefined;
      if (!range) return { status: 200, headers, body };
      const [start, end] = range;
      return {
        status: 206,
        headers: {
          ...headers,
          'content-length': String(end - start + 1),
          'content-range': `bytes ${start}-${end}/${body.length}`,
        },
        body: body.subarray(start, end + 1),
      };
    }
    if (method === 'DELETE') {
      const out = await call('DeleteObject', { Bucket: bucket, Key: key, VersionId: versionId });
      const headers: Record<string, string> = {};
      if (out.DeleteMarker) headers['x-amz-delete-marker'] = 'true';
      if (out.VersionId) headers['x-amz-version-id'] = String(out.VersionId);
      return { status: 204, headers };
    }
    throw new AwsError('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405);
  } catch (err) {
    if (err instanceof AwsError) return errorResponse(err, method);
    ctx.log.error('s3 request failed', { error: String(err) });
    return errorResponse(
      new AwsError('InternalError', 'We encountered an internal error. Please try again.', 500),
      method,
    );
  }
};

/** A single `bytes=` range (`a-b`, `a-`, `-n`); unsatisfiable ranges are S3's InvalidRange (416). */
export const parseRange = (header: string, size: number): [number, number] | undefined => {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // not a single byte range: S3 ignores it
  // `bytes=1-0`: a last byte before the first makes the range syntactically invalid (RFC 9110 14.1.1), and S3, like
  // any HTTP server, ignores it and answers 200 with the whole object.
  if (m[1] !== '' && m[2] !== '' && Number(m[2]) < Number(m[1])) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) throw new AwsError('InvalidRange', 'The requested range is not satisfiable', 416);
  return [start, end];
};

const KEY_FIELDS = ['Key', 'Prefix', 'Delimiter', 'StartAfter', 'Marker', 'NextMarker', 'KeyMarker', 'NextKeyMarker'];
const encodeKey = (k: string) => encodeURIComponent(k).replace(/%2F/g, '/');

/**
 * `encoding-type=url` (the AWS CLI always asks for it): keys and key-like fields come back URL-encoded, so
 * keys with characters XML cannot carry survive; the client decodes them.
 */
const urlEncoded = (out: Record<string, unknown>): Record<string, unknown> => {
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (value === null || typeof value !== 'object') return value;
    const copy: Record<string | symbol, unknown> = {};
    for (const [k, v] of Object.entries(value))
      copy[k] = KEY_FIELDS.includes(k) && typeof v === 'string' ? encodeKey(v) : walk(v);
    for (const sym of Object.getOwnPropertySymbols(value)) copy[sym] = (value as Record<symbol, unknown>)[sym];
    return copy;
  };
  return { ...(walk(out) as Record<string, unknown>), EncodingType: 'url' };
};

const metadataFrom = (headers: Record<string, string>): Record<string, string> => {
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase().startsWith('x-amz-meta-')) meta[k.slice('x-amz-meta-'.length).toLowerCase()] = v;
  }
  return meta;
};
