import { XMLParser } from 'fast-xml-parser';
import type { LocalContext, RawResponse } from '../types.ts';
import { AwsError } from '../types.ts';
import type { S3Backend, Tag } from './backend.ts';
import { OWNER } from './operations.ts';
import { xmlResponse } from './xml.ts';

/**
 * S3's sub-resources (the query flags that turn `/<bucket>` or `/<bucket>/<key>` into another operation). Each one
 * S3 defines is recognised, so none falls through to the plain bucket or object operation: on AWS, `DELETE
 * /<bucket>?tagging` is DeleteBucketTagging, and must never delete the bucket. The ones a pipeline user meets are
 * implemented; the rest answer 501 NotImplemented in S3's XML, as S3 does for functionality it does not offer.
 * Source: the S3 API reference (each operation's request syntax names its sub-resource).
 */
export const BUCKET_SUBRESOURCES = [
  'accelerate',
  'acl',
  'analytics',
  'cors',
  'encryption',
  'intelligent-tiering',
  'inventory',
  'lifecycle',
  'logging',
  'metadataConfiguration',
  'metadataTable',
  'metrics',
  'notification',
  'object-lock',
  'ownershipControls',
  'policy',
  'policyStatus',
  'publicAccessBlock',
  'replication',
  'requestPayment',
  'session',
  'tagging',
  'uploads',
  'website',
] as const;
export const OBJECT_SUBRESOURCES = [
  'acl',
  'attributes',
  'legal-hold',
  'restore',
  'retention',
  'select',
  'tagging',
  'torrent',
] as const;

/** The ACL of everything local: the owner, with full control (the only grant S3 gives a new bucket or object). */
const OWNER_ACL = {
  Owner: OWNER,
  AccessControlList: { Grant: { Grantee: { ...OWNER, Type: 'CanonicalUser' }, Permission: 'FULL_CONTROL' } },
};
const tagParser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, isArray: (name) => name === 'Tag' });

export const notImplemented = (): AwsError =>
  new AwsError('NotImplemented', 'A header or query you provided implies functionality that is not implemented', 501);
const malformed = (): AwsError =>
  new AwsError(
    'MalformedXML',
    'The XML you provided was not well-formed or did not validate against our published schema',
    400,
  );

/** `<Tagging><TagSet><Tag><Key/><Value/></Tag>…</TagSet></Tagging>`, with S3's limits (keys unique, 1–128 chars). */
const parseTagging = (body: Buffer, max: number): Tag[] => {
  let doc: { Tagging?: { TagSet?: { Tag?: Array<{ Key?: unknown; Value?: unknown }> } | '' } };
  try {
    doc = tagParser.parse(body.toString('utf8'));
  } catch {
    throw malformed();
  }
  if (!doc.Tagging) throw malformed();
  const raw = (typeof doc.Tagging.TagSet === 'object' ? doc.Tagging.TagSet.Tag : undefined) ?? [];
  const tags = raw.map((t) => ({ Key: String(t.Key ?? ''), Value: String(t.Value ?? '') }));
  if (tags.length > max) throw new AwsError('BadRequest', `Object tags cannot be greater than ${max}`, 400);
  const keys = new Set<string>();
  for (const t of tags) {
    if (t.Key.length === 0 || t.Key.length > 128 || t.Value.length > 256) {
      throw new AwsError('InvalidTag', 'The TagKey you have provided is invalid', 400);
    }
    if (keys.has(t.Key)) throw new AwsError('InvalidTag', 'Cannot provide multiple Tags with the same key', 400);
    keys.add(t.Key);
  }
  return tags;
};

/** S3's default encryption since January 2023: every bucket encrypts new objects with SSE-S3. */
const DEFAULT_ENCRYPTION = {
  Rule: { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: false },
};

type Req = { method: string; q: URLSearchParams; body: Buffer };

export const handleBucketSubresource = (
  sub: string,
  { method, q, body }: Req,
  bucket: string,
  ctx: LocalContext,
  backend: S3Backend,
): RawResponse => {
  const b = backend.bucket(ctx.store, bucket);
  const noBucketConfig = (code: string, message: string) => Object.assign(new AwsError(code, message, 404), { bucket });
  switch (`${method} ${sub}`) {
    case 'GET tagging':
      if (!b.tags || b.tags.length === 0) throw noBucketConfig('NoSuchTagSet', 'The TagSet does not exist');
      return xmlResponse('Tagging', { TagSet: { Tag: b.tags } });
    case 'PUT tagging':
      backend.updateBucket(ctx.store, bucket, { tags: parseTagging(body, 50) });
      return { status: 204 };
    case 'DELETE tagging':
      backend.updateBucket(ctx.store, bucket, { tags: undefined });
      return { status: 204 };
    case 'GET policy':
      if (!b.policy) throw noBucketConfig('NoSuchBucketPolicy', 'The bucket policy does not exist');
      return { status: 200, headers: { 'content-type': 'application/json' }, body: b.policy };
    case 'PUT policy': {
      const text = body.toString('utf8');
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (!text.trimStart().startsWith('{') || parsed === null || typeof parsed !== 'object') {
        throw new AwsError('MalformedPolicy', "Policies must be valid JSON and the first byte must be '{'", 400);
      }
      backend.updateBucket(ctx.store, bucket, { policy: text });
      return { status: 204 };
    }
    case 'DELETE policy':
      backend.updateBucket(ctx.store, bucket, { policy: undefined });
      return { status: 204 };
    case 'GET encryption':
      return xmlResponse(
        'ServerSideEncryptionConfiguration',
        (b.encryption as Record<string, unknown> | undefined) ?? DEFAULT_ENCRYPTION,
      );
    case 'PUT encryption': {
      let doc: { ServerSideEncryptionConfiguration?: { Rule?: unknown } };
      try {
        doc = new XMLParser({ ignoreAttributes: true, parseTagValue: false }).parse(body.toString('utf8'));
      } catch {
        throw malformed();
      }
      if (!doc.ServerSideEncryptionConfiguration?.Rule) throw malformed();
      backend.updateBucket(ctx.store, bucket, { encryption: { Rule: doc.ServerSideEncryptionConfiguration.Rule } });
      return { status: 200 };
    }
    case 'DELETE encryption':
      backend.updateBucket(ctx.store, bucket, { encryption: undefined });
      return { status: 204 };
    case 'GET acl':
      return xmlResponse('AccessControlPolicy', OWNER_ACL);
    case 'GET uploads': {
      const prefix = q.get('prefix') ?? '';
      const uploads = backend.uploads(ctx.store, bucket).filter((u) => u.key.startsWith(prefix));
      return xmlResponse('ListMultipartUploadsResult', {
        Bucket: bucket,
        KeyMarker: q.get('key-marker') ?? '',
        UploadIdMarker: q.get('upload-id-marker') ?? '',
        NextKeyMarker: uploads.at(-1)?.key ?? '',
        NextUploadIdMarker: uploads.at(-1)?.uploadId ?? '',
        ...(prefix ? { Prefix: prefix } : {}),
        MaxUploads: 1000,
        IsTruncated: false,
        Upload: uploads.map((u) => ({
          Key: u.key,
          UploadId: u.uploadId,
          Initiator: OWNER,
          Owner: OWNER,
          StorageClass: 'STANDARD',
          Initiated: u.initiated,
        })),
      });
    }
    default:
      throw notImplemented();
  }
};

export const handleObjectSubresource = (
  sub: string,
  { method, q, body }: Req,
  bucket: string,
  key: string,
  ctx: LocalContext,
  backend: S3Backend,
): RawResponse => {
  const versionId = q.get('versionId') ?? undefined;
  const versionHeader = (id: string): Record<string, string> => (id !== 'null' ? { 'x-amz-version-id': id } : {});
  switch (`${method} ${sub}`) {
    case 'GET tagging': {
      const version = backend.getVersion(ctx.store, bucket, key, versionId);
      return {
        ...xmlResponse('Tagging', { TagSet: { Tag: version.tags ?? [] } }),
        headers: { 'content-type': 'application/xml', ...versionHeader(version.versionId) },
      };
    }
    case 'PUT tagging': {
      const version = backend.setObjectTags(ctx.store, bucket, key, versionId, parseTagging(body, 10));
      return { status: 200, headers: versionHeader(version.versionId) };
    }
    case 'DELETE tagging': {
      const version = backend.setObjectTags(ctx.store, bucket, key, versionId, undefined);
      return { status: 204, headers: versionHeader(version.versionId) };
    }
    case 'GET acl': {
      const version = backend.getVersion(ctx.store, bucket, key, versionId);
      return {
        ...xmlResponse('AccessControlPolicy', OWNER_ACL),
        headers: { 'content-type': 'application/xml', ...versionHeader(version.versionId) },
      };
    }
    default:
      throw notImplemented();
  }
};

/** ListParts (`GET /<bucket>/<key>?uploadId=…`). */
export const listParts = (
  q: URLSearchParams,
  bucket: string,
  key: string,
  ctx: LocalContext,
  backend: S3Backend,
): RawResponse => {
  const uploadId = q.get('uploadId') ?? '';
  const { parts } = backend.parts(ctx.store, bucket, key, uploadId);
  const marker = Number(q.get('part-number-marker') ?? 0);
  const max = Math.min(Number(q.get('max-parts') ?? 1000) || 1000, 1000);
  const after = parts.filter((p) => p.PartNumber > marker);
  const page = after.slice(0, max);
  return xmlResponse('ListPartsResult', {
    Bucket: bucket,
    Key: key,
    UploadId: uploadId,
    PartNumberMarker: marker,
    NextPartNumberMarker: page.at(-1)?.PartNumber ?? marker,
    MaxParts: max,
    IsTruncated: after.length > page.length,
    Part: page,
    Initiator: OWNER,
    Owner: OWNER,
    StorageClass: 'STANDARD',
  });
};
