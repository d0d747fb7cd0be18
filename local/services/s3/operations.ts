import type { LocalContext, Operation } from '../types.ts';
import { AwsError } from '../types.ts';
import type { S3Backend, Version } from './backend.ts';

/**
 * S3 operations with SDK-shaped inputs and outputs (`Bucket`, `Key`, `Contents`, …). They back both the REST
 * front (which serializes them to S3's XML) and in-process `ctx.call('s3', …)` from Step Functions `aws-sdk:s3`
 * tasks, CloudFormation and CodePipeline. In-process, `GetObject` returns `Body` as a Buffer (the object's bytes,
 * intact); callers that want text decode it (Step Functions does, as its SDK integration returns text).
 */
type In = Record<string, unknown>;

/** Interleaved Version/DeleteMarker order of a ListObjectVersions page, for the XML writer (invisible to JSON). */
export const VERSION_ORDER = Symbol('versionOrder');

export const OWNER = {
  ID: '75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a',
  DisplayName: 'stagecrew',
};
const DEFAULT_MAX_KEYS = 1000;

const str = (input: In, field: string, required = true): string | undefined => {
  const value = input[field];
  if (value === undefined || value === null || value === '') {
    if (required) throw new AwsError('InvalidArgument', `${field} is required`, 400);
    return undefined;
  }
  if (typeof value !== 'string') throw new AwsError('InvalidArgument', `${field} must be a string`, 400);
  return value;
};

const maxKeys = (input: In): number => {
  const raw = input.MaxKeys;
  if (raw === undefined || raw === null || raw === '') return DEFAULT_MAX_KEYS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new AwsError('InvalidArgument', 'Provided max-keys not an integer or within integer range', 400);
  return Math.min(n, DEFAULT_MAX_KEYS);
};

export const toBuffer = (body: unknown): Buffer => {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.from(JSON.stringify(body), 'utf8');
};

export const objectHeaders = (version: Version) => ({
  ContentLength: version.size,
  ContentType: version.contentType ?? 'binary/octet-stream',
  ETag: version.etag,
  LastModified: version.lastModified,
  ...(version.versionId !== 'null' ? { VersionId: version.versionId } : {}),
  ...(version.metadata ? { Metadata: version.metadata } : {}),
});

type Listed = { keys: string[]; prefixes: string[]; truncated: boolean; last?: string };

/** Groups keys by delimiter after the prefix and pages them; a common prefix counts as one entry, as in S3. */
/** `x-amz-copy-source`: `bucket/key` (URL-encoded, optional leading slash), optionally `?versionId=`. */
const copySourceOf = (source: string): { bucket: string; key: string; versionId?: string } => {
  const [path = '', query = ''] = source.replace(/^\//, '').split('?');
  const decoded = decodeURIComponent(path);
  const slash = decoded.indexOf('/');
  if (slash <= 0) {
    throw new AwsError(
      'InvalidArgument',
      'Copy Source must mention the source bucket and key: sourcebucket/sourcekey',
      400,
    );
  }
  const versionId = new URLSearchParams(query).get('versionId') ?? undefined;
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1), ...(versionId ? { versionId } : {}) };
};

const page = (
  allKeys: string[],
  prefix: string,
  delimiter: string | undefined,
  after: string | undefined,
  max: number,
): Listed => {
  const keys: string[] = [];
  const prefixes: string[] = [];
  let last: string | undefined;
  for (const key of allKeys) {
    if (!key.startsWith(prefix)) continue;
    if (after !== undefined && key <= after) continue;
    let entry = key;
    let isPrefix = false;
    if (delimiter) {
      const at = key.indexOf(delimiter, prefix.length);
      if (at >= 0) {
        entry = key.slice(0, at + delimiter.length);
        isPrefix = true;
      }
    }
    if (isPrefix && (prefixes.at(-1) === entry || (after !== undefined && entry <= after))) continue;
    if (keys.length + prefixes.length >= max) return { keys, prefixes, truncated: true, last };
    if (isPrefix) prefixes.push(entry);
    else keys.push(entry);
    // Resume after every key under a returned common prefix.
    last = isPrefix ? `${entry}\u{10FFFF}` : entry;
  }
  return { keys, prefixes, truncated: false, last };
};

const encodeToken = (key: string) => Buffer.from(key, 'utf8').toString('base64url');
const decodeToken = (token: string) => {
  const key = Buffer.from(token, 'base64url').toString('utf8');
  if (token.length === 0 || encodeToken(key) !== token) {
    throw new AwsError('InvalidArgument', 'The continuation token provided is incorrect', 400);
  }
  return key;
};

export const makeOperations = (backend: S3Backend): Record<string, Operation> => {
  const copySource = (ctx: LocalContext, source: string) => {
    const { bucket, key, versionId } = copySourceOf(source);
    return { bucket, version: backend.getVersion(ctx.store, bucket, key, versionId) };
  };
  const latestVisible = (ctx: LocalContext, bucket: string) =>
    backend.objects(ctx.store, bucket).filter((o) => o.versions[0] && !o.versions[0].deleteMarker);

  const deleteOne = (ctx: LocalContext, bucket: string, key: string, versionId?: string) => {
    const result = backend.deleteObject(ctx.store, bucket, key, versionId);
    return {
      ...(result.deleteMarker ? { DeleteMarker: true } : {}),
      ...(result.versionId && result.versionId !== 'null' ? { VersionId: result.versionId } : {}),
    };
  };

  return {
    ListBuckets: (_input: In, ctx: LocalContext) => ({
      Buckets: backend.listBuckets(ctx.store).map((b) => ({ Name: b.name, CreationDate: b.created })),
      Owner: OWNER,
    }),
    CreateBucket: (input: In, ctx: LocalContext) => {
      const bucket = str(input, 'Bucket') as string;
      backend.createBucket(ctx.store, bucket);
      return { Location: `/${bucket}` };
    },
    HeadBucket: (input: In, ctx: LocalContext) => {
      backend.bucket(ctx.store, str(input, 'Bucket') as string);
      return { BucketRegion: ctx.region };
    },
    DeleteBucket: (input: In, ctx: LocalContext) => {
      backend.deleteBucket(ctx.store, str(input, 'Bucket') as string);
      return {};
    },
    GetBucketVersioning: (input: In, ctx: LocalContext) => {
      const bucket = backend.bucket(ctx.store, str(input, 'Bucket') as string);
      return bucket.versioning ? { Status: bucket.versioning } : {};
    },
    PutBucketVersioning: (input: In, ctx: LocalContext) => {
      const config = (input.VersioningConfiguration ?? {}) as In;
      backend.setVersioning(ctx.store, str(input, 'Bucket') as string, String(config.Status ?? ''));
      return {};
    },
    PutObject: (input: In, ctx: LocalContext) => {
      const version = backend.putObject(
        ctx.store,
        str(input, 'Bucket') as string,
        str(input, 'Key') as string,
        toBuffer(input.Body),
        {
          ...(typeof input.ContentType === 'string' ? { contentType: input.ContentType } : {}),
          ...(input.Metadata && typeof input.Metadata === 'object'
            ? { metadata: input.Metadata as Record<string, string> }
            : {}),
        },
      );
      return { ETag: version.etag, ...(version.versionId !== 'null' ? { VersionId: version.versionId } : {}) };
    },
    GetObject: (input: In, ctx: LocalContext) => {
      const bucket = str(input, 'Bucket') as string;
      const version = backend.getVersion(
        ctx.store,
        bucket,
        str(input, 'Key') as string,
        str(input, 'VersionId', false),
      );
      return { ...objectHeaders(version), Body: backend.readBody(bucket, version) };
    },
    HeadObject: (input: In, ctx: LocalContext) => {
      const bucket = str(input, 'Bucket') as string;
      return objectHeaders(
        backend.getVersion(ctx.store, bucket, str(input, 'Key') as string, str(input, 'VersionId', false)),
      );
    },
    CopyObject: (input: In, ctx: LocalContext) => {
      const { bucket: srcBucket, version } = copySource(ctx, str(input, 'CopySource') as string);
      const replace = input.MetadataDirective === 'REPLACE';
      const copied = backend.putObject(
        ctx.store,
        str(input, 'Bucket') as string,
        str(input, 'Key') as string,
        backend.readBody(srcBucket, version),
        {
          ...((replace ? input.ContentType : version.contentType)
            ? { contentType: String(replace ? input.ContentType : version.contentType) }
            : {}),
          ...((replace ? input.Metadata : version.metadata)
            ? { metadata: (replace ? input.Metadata : version.metadata) as Record<string, string> }
            : {}),
        },
      );
      return {
        CopyObjectResult: { ETag: copied.etag, LastModified: copied.lastModified },
        ...(copied.versionId !== 'null' ? { VersionId: copied.versionId } : {}),
        ...(version.versionId !== 'null' ? { CopySourceVersionId: version.versionId } : {}),
      };
    },
    CreateMultipartUpload: (input: In, ctx: LocalContext) => {
      const bucket = str(input, 'Bucket') as string;
      const key = str(input, 'Key') as string;
      const UploadId = backend.createUpload(ctx.store, bucket, key, {
        ...(typeof input.ContentType === 'string' ? { contentType: input.ContentType } : {}),
        ...(input.Metadata && typeof input.Metadata === 'object' && Object.keys(input.Metadata).length > 0
          ? { metadata: input.Metadata as Record<string, string> }
          : {}),
      });
      return { Bucket: bucket, Key: key, UploadId };
    },
    /** A part copied from (a byte range of) an existing object (`x-amz-copy-source`, `x-amz-copy-source-range`). */
    UploadPartCopy: (input: In, ctx: LocalContext) => {
      const { bucket: srcBucket, version } = copySource(ctx, str(input, 'CopySource') as string);
      let bytes = backend.readBody(srcBucket, version);
      const range = str(input, 'CopySourceRange', false);
      if (range !== undefined) {
        const m = /^bytes=(\d+)-(\d+)$/.exec(range);
        if (!m || Number(m[2]) < Number(m[1]) || Number(m[2]) >= bytes.length) {
          throw new AwsError(
            'InvalidArgument',
            'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
            400,
          );
        }
        bytes = bytes.subarray(Number(m[1]), Number(m[2]) + 1);
      }
      const etag = backend.uploadPart(
        ctx.store,
        str(input, 'Bucket') as string,
        str(input, 'Key') as string,
        str(input, 'UploadId') as string,
        Number(input.PartNumber),
        bytes,
      );
      return {
        CopyPartResult: { ETag: etag, LastModified: new Date().toISOString() },
        ...(version.versionId !== 'null' ? { CopySourceVersionId: version.versionId } : {}),
      };
    },
    UploadPart: (input: In, ctx: LocalContext) => ({
      ETag: backend.uploadPart(
        ctx.store,
        str(input, 'Bucket') as string,
        str(input, 'Key') as string,
        str(input, 'UploadId') as string,
        Number(input.PartNumber),
        toBuffer(input.Body),
      ),
    }),
    CompleteMultipartUpload: (input: In, ctx: LocalContext) => {
      const bucket = str(input, 'Bucket') as string;
      const key = str(input, 'Key') as string;
      const upload = (input.MultipartUpload ?? {}) as { Parts?: Array<{ PartNumber: unknown; ETag: unknown }> };
      const parts = (upload.Parts ?? []).map((p) => ({ PartNumber: Number(p.PartNumber), ETag: String(p.ETag) }));
      const version = backend.completeUpload(ctx.store, bucket, key, str(input, 'UploadId') as string, parts);
      return {
        Location: `${ctx.baseUrl}/${bucket}/${encodeURIComponent(key)}`,
        Bucket: bucket,
        Key: key,
        ETag: version.etag,
        ...(version.versionId !== 'null' ? { VersionId: version.versionId } : {}),
      };
    },
    AbortMultipartUpload: (input: In, ctx: LocalContext) => {
      backend.abortUpload(
        ctx.store,
        str(input, 'Bucket') as string,
        str(input, 'Key') as string,
        str(input, 'UploadId') as string,
      );
      return {};
    },
    DeleteObject: (input: In, ctx: LocalContext) =>
      deleteOne(ctx, str(input, 'Bucket') as string, str(input, 'Key') as string, str(input, 'VersionId', false)),
    DeleteObjects: (input: In, ctx: LocalContext) => {
      const bucket = str(input, 'Bucket') as string;
      backend.bucket(ctx.store, bucket);
      const del = (input.Delete ?? {}) as In;
      const objects = Array.isArray(del.Objects) ? (del.Objects as In[]) : [];
      if (objects.length === 0 || objects.length > 1000) {
        throw new AwsError(
          'MalformedXML',
          'The XML you provided was not well-formed or did not validate against our published schema',
          400,
        );
      }
      const quiet = del.Quiet === true || del.Quiet === 'true';
      const Deleted: In[] = [];
      const Errors: In[] = [];
      for (const o of objects) {
        const key = String(o.Key ?? '');
        const versionId = typeof o.VersionId === 'string' && o.VersionId !== '' ? o.VersionId : undefined;
        try {
          const r = deleteOne(ctx, bucket, key, versionId);
          if (quiet) continue;
          Deleted.push({
            Key: key,
            ...(versionId ? { VersionId: versionId } : {}),
            ...(r.DeleteMarker ? { DeleteMarker: true } : {}),
            ...(r.DeleteMarker && !versionId && r.VersionId ? { DeleteMarkerVersionId: r.VersionId } : {}),
          });
        } catch (err) {
          const e = err instanceof AwsError ? err : new AwsError('InternalError', String(err), 500);
          Errors.push({ Key: key, ...(versionId ? { VersionId: versionId } : {}), Code: e.code, Message: e.message });
        }
      }
      return { Deleted, Errors };
    },
    ListObjectsV2: (input: In, ctx: LocalContext) => {
      const bucket = str(input, 'Bucket') as string;
      const prefix = str(input, 'Prefix', false) ?? '';
      const delimiter = str(input, 'Delimiter', false);
      const token = str(input, 'ContinuationToken', false);
      const startAfter = str(input, 'StartAfter', false);
      const max = maxKeys(input);
      const objects = latestVisible(ctx, bucket);
      const byKey = new Map(objects.map((o) => [o.key, o.versions[0] as Version]));
      const listed = page([...byKey.keys()], prefix, delimiter, token ? decodeToken(token) : startAfter, max);
      return {
        Name: bucket,
        Prefix: prefix,
        ...(delimiter ? { Delimiter: delimiter } : {}),
        MaxKeys: max,
        KeyCount: listed.keys.length + listed.prefixes.length,
        IsTruncated: listed.truncated,
        ...(token ? { ContinuationToken: token } : {}),
        ...(startAfter ? { StartAfter: startAfter } : {}),
        ...(listed.truncated && listed.last !== undefined ? { NextContinuationToken: encodeToken(listed.last) } : {}),
        Contents: listed.keys.map((key) => {
          const v = byKey.get(key) as Version;
          return { Key: key, LastModified: v.lastModified, ETag: v.etag, Size: v.size, StorageClass: 'STANDARD' };
        }),
        CommonPrefixes: listed.prefixes.map((p) => ({ Prefix: p })),
      };
    },
    ListObjects: (input: In, ctx: LocalContext) => {
      const bucket = str(input, 'Bucket') as string;
      const prefix = str(input, 'Prefix', false) ?? '';
      const delimiter = str(input, 'Delimiter', false);
      const marker = str(input, 'Marker', false);
      const max = maxKeys(input);
      const objects = latestVisible(ctx, bucket);
      const byKey = new Map(objects.map((o) => [o.key, o.versions[0] as Version]));
      const listed = page([...byKey.keys()], prefix, delimiter, marker, max);
      return {
        Name: bucket,
        Prefix: prefix,
        Marker: marker ?? '',
        ...(delimiter ? { Delimiter: delimiter } : {}),
        MaxKeys: max,
        IsTruncated: listed.truncated,
        ...(listed.truncated && delimiter && listed.last ? { NextMarker: listed.last } : {}),
        Contents: listed.keys.map((key) => {
          const v = byKey.get(key) as Version;
          return {
            Key: key,
            LastModified: v.lastModified,
            ETag: v.etag,
            Size: v.size,
            StorageClass: 'STANDARD',
            Owner: OWNER,
          };
        }),
        CommonPrefixes: listed.prefixes.map((p) => ({ Prefix: p })),
      };
    },
    ListObjectVersions: (input: In, ctx: LocalContext) => {
      const bucket = str(input, 'Bucket') as string;
      const prefix = str(input, 'Prefix', false) ?? '';
      const keyMarker = str(input, 'KeyMarker', false);
      const versionIdMarker = str(input, 'VersionIdMarker', false);
      const max = maxKeys(input);
      const rows: Array<{ key: string; v: Version; latest: boolean }> = [];
      for (const o of backend.objects(ctx.store, bucket)) {
        if (!o.key.startsWith(prefix)) continue;
        o.versions.forEach((v, i) => {
          rows.push({ key: o.key, v, latest: i === 0 });
        });
      }
      let start = 0;
      if (keyMarker !== undefined) {
        const markerIndex = versionIdMarker
          ? rows.findIndex((r) => r.key === keyMarker && r.v.versionId === versionIdMarker)
          : -1;
        start = markerIndex >= 0 ? markerIndex + 1 : rows.findIndex((r) => r.key > keyMarker);
        if (start < 0) start = rows.length;
      }
      const slice = rows.slice(start, start + max);
      const truncated = start + max < rows.length;
      const last = slice.at(-1);
      const entry = (r: { key: string; v: Version; latest: boolean }) => ({
        Key: r.key,
        VersionId: r.v.versionId,
        IsLatest: r.latest,
        LastModified: r.v.lastModified,
        Owner: OWNER,
      });
      return {
        Name: bucket,
        Prefix: prefix,
        KeyMarker: keyMarker ?? '',
        VersionIdMarker: versionIdMarker ?? '',
        MaxKeys: max,
        IsTruncated: truncated,
        ...(truncated && last ? { NextKeyMarker: last.key, NextVersionIdMarker: last.v.versionId } : {}),
        Versions: slice
          .filter((r) => !r.v.deleteMarker)
          .map((r) => ({ ...entry(r), ETag: r.v.etag, Size: r.v.size, StorageClass: 'STANDARD' })),
        DeleteMarkers: slice.filter((r) => r.v.deleteMarker).map(entry),
        [VERSION_ORDER]: slice.map((r) => r.v.deleteMarker),
      };
    },
  };
};
