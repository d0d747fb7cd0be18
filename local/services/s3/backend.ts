import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { StateStore } from '../../store/store.ts';
import { AwsError } from '../types.ts';

/**
 * The local S3 data model: bucket and object-version metadata live in the durable store, object bytes live in
 * files under `dataDir/<bucket>/<blob id>`. A blob is written (temp file, fsync, rename) before its metadata is
 * acknowledged, so a crash can at worst leave an unreferenced file, never metadata without bytes.
 *
 * Versioning follows S3: a bucket that never had versioning stores one `null` version per key; `Enabled`
 * stacks new versions and turns deletes into delete markers; `Suspended` writes `null` versions again.
 */
export type Tag = { Key: string; Value: string };
export type Bucket = {
  name: string;
  created: string;
  versioning?: 'Enabled' | 'Suspended';
  tags?: Tag[];
  /** The bucket policy document as it was put (S3 returns it as stored). */
  policy?: string;
  /** A ServerSideEncryptionConfiguration other than S3's default (SSE-S3), as SDK-shaped rules. */
  encryption?: unknown;
};
export type Version = {
  versionId: string;
  deleteMarker: boolean;
  lastModified: string;
  size: number;
  etag: string;
  contentType?: string;
  metadata?: Record<string, string>;
  tags?: Tag[];
  blob?: string;
};
type ObjectRecord = { key: string; versions: Version[] }; // newest first

type Upload = {
  bucket: string;
  key: string;
  initiated: string;
  contentType?: string;
  metadata?: Record<string, string>;
  parts: Record<number, { etag: string; size: number; blob: string; lastModified?: string }>;
};

const BUCKETS = 's3:buckets';
const UPLOADS = 's3:uploads';
const MIN_PART_SIZE = 5 * 1024 * 1024;
const objectsNs = (bucket: string) => `s3:objects:${bucket}`;

export const noSuchBucket = (bucket: string) =>
  Object.assign(new AwsError('NoSuchBucket', 'The specified bucket does not exist', 404), { bucket });

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export class S3Backend {
  readonly #dataDir: () => string;
  constructor(dataDir: () => string) {
    this.#dataDir = dataDir;
  }

  bucket(store: StateStore, name: string): Bucket {
    const bucket = store.get<Bucket>(BUCKETS, name);
    if (!bucket) throw noSuchBucket(name);
    return bucket;
  }

  listBuckets(store: StateStore): Bucket[] {
    return store
      .list<Bucket>(BUCKETS)
      .map(([, b]) => b)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  createBucket(store: StateStore, name: string): Bucket {
    if (typeof name !== 'string' || !BUCKET_NAME.test(name) || name.includes('..')) {
      throw new AwsError('InvalidBucketName', 'The specified bucket is not valid.', 400);
    }
    if (store.get(BUCKETS, name)) {
      throw new AwsError(
        'BucketAlreadyOwnedByYou',
        'Your previous request to create the named bucket succeeded and you already own it.',
        409,
      );
    }
    const bucket: Bucket = { name, created: new Date().toISOString() };
    store.put(BUCKETS, name, bucket);
    return bucket;
  }

  deleteBucket(store: StateStore, name: string): void {
    this.bucket(store, name);
    if (store.list(objectsNs(name)).length > 0) {
      throw new AwsError('BucketNotEmpty', 'The bucket you tried to delete is not empty', 409);
    }
    store.delete(BUCKETS, name);
    // Only the (now empty) directory goes: never remove files this bucket's metadata does not account for.
    try {
      rmdirSync(join(this.#dataDir(), encodeURIComponent(name)));
    } catch {
      // absent, or holding files of an interrupted write: harmless either way
    }
  }

  setVersioning(store: StateStore, name: string, status: string): void {
    const bucket = this.bucket(store, name);
    if (status !== 'Enabled' && status !== 'Suspended') {
      throw new AwsError(
        'MalformedXML',
        'The XML you provided was not well-formed or did not validate against our published schema',
        400,
      );
    }
    store.put(BUCKETS, name, { ...bucket, versioning: status });
  }

  /** Sets (or, with `undefined`, removes) bucket-level configuration: tags, policy, encryption. */
  updateBucket(store: StateStore, name: string, patch: Pick<Bucket, 'tags' | 'policy' | 'encryption'>): Bucket {
    const next: Record<string, unknown> = { ...this.bucket(store, name), ...patch };
    for (const [k, v] of Object.entries(patch)) if (v === undefined) delete next[k];
    store.put(BUCKETS, name, next);
    return next as Bucket;
  }

  /** Multipart uploads in progress in a bucket, by key then initiation time (ListMultipartUploads). */
  uploads(store: StateStore, bucket: string): Array<{ uploadId: string; key: string; initiated: string }> {
    this.bucket(store, bucket);
    return store
      .list<Upload>(UPLOADS)
      .filter(([, u]) => u.bucket === bucket)
      .map(([uploadId, u]) => ({ uploadId, key: u.key, initiated: u.initiated }))
      .sort((a, b) => (a.key === b.key ? a.initiated.localeCompare(b.initiated) : a.key < b.key ? -1 : 1));
  }

  /** The parts uploaded so far, ascending (ListParts). */
  parts(
    store: StateStore,
    bucket: string,
    key: string,
    uploadId: string,
  ): {
    upload: { initiated: string };
    parts: Array<{ PartNumber: number; ETag: string; Size: number; LastModified: string }>;
  } {
    const upload = this.#upload(store, bucket, key, uploadId);
    const parts = Object.entries(upload.parts)
      .map(([n, p]) => ({
        PartNumber: Number(n),
        ETag: p.etag,
        Size: p.size,
        LastModified: p.lastModified ?? upload.initiated,
      }))
      .sort((a, b) => a.PartNumber - b.PartNumber);
    return { upload: { initiated: upload.initiated }, parts };
  }

  /** Replaces (or, with `undefined`, removes) the tag set of an object version (the latest when no id). */
  setObjectTags(
    store: StateStore,
    bucket: string,
    key: string,
    versionId: string | undefined,
    tags: Tag[] | undefined,
  ): Version {
    const target = this.getVersion(store, bucket, key, versionId);
    const record = store.get<ObjectRecord>(objectsNs(bucket), key) as ObjectRecord;
    const versions = record.versions.map((v) => {
      if (v.versionId !== target.versionId) return v;
      const { tags: _old, ...rest } = v;
      return tags === undefined ? rest : { ...rest, tags };
    });
    store.put(objectsNs(bucket), key, { ...record, versions });
    return target;
  }

  objects(store: StateStore, bucket: string): ObjectRecord[] {
    this.bucket(store, bucket);
    return store
      .list<ObjectRecord>(objectsNs(bucket))
      .map(([, o]) => o)
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  putObject(
    store: StateStore,
    bucketName: string,
    key: string,
    body: Buffer,
    meta: { contentType?: string; metadata?: Record<string, string>; etag?: string } = {},
  ): Version {
    const bucket = this.bucket(store, bucketName);
    validateKey(key);
    const blob = randomUUID();
    this.#writeBlob(bucketName, blob, body);
    const version: Version = {
      versionId: bucket.versioning === 'Enabled' ? newVersionId() : 'null',
      deleteMarker: false,
      lastModified: new Date().toISOString(),
      size: body.length,
      etag: meta.etag ?? `"${createHash('md5').update(body).digest('hex')}"`,
      blob,
      ...(meta.contentType ? { contentType: meta.contentType } : {}),
      ...(meta.metadata && Object.keys(meta.metadata).length > 0 ? { metadata: meta.metadata } : {}),
    };
    this.#addVersion(store, bucketName, key, version);
    return version;
  }

  /** The version to read: the latest, or the given id. A delete marker as latest means "no such key". */
  getVersion(store: StateStore, bucket: string, key: string, versionId?: string): Version {
    this.bucket(store, bucket);
    const record = store.get<ObjectRecord>(objectsNs(bucket), key);
    if (versionId !== undefined) {
      const version = record?.versions.find((v) => v.versionId === versionId);
      if (!version) throw new AwsError('NoSuchVersion', 'The specified version does not exist.', 404);
      if (version.deleteMarker) {
        throw Object.assign(
          new AwsError('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405),
          {
            deleteMarker: version,
          },
        );
      }
      return version;
    }
    const latest = record?.versions[0];
    if (!latest || latest.deleteMarker) {
      throw Object.assign(new AwsError('NoSuchKey', 'The specified key does not exist.', 404), {
        key,
        ...(latest ? { deleteMarker: latest } : {}),
      });
    }
    return latest;
  }

  readBody(bucket: string, version: Version): Buffer {
    if (!version.blob) return Buffer.alloc(0);
    return readFileSync(join(this.#dataDir(), encodeURIComponent(bucket), version.blob));
  }

  /** S3 DeleteObject semantics; returns what the response headers report. */
  deleteObject(
    store: StateStore,
    bucketName: string,
    key: string,
    versionId?: string,
  ): { deleteMarker: boolean; versionId?: string } {
    const bucket = this.bucket(store, bucketName);
    const ns = objectsNs(bucketName);
    const record = store.get<ObjectRecord>(ns, key);
    if (versionId !== undefined) {
      const removed = record?.versions.find((v) => v.versionId === versionId);
      if (!record || !removed) return { deleteMarker: false, versionId };
      this.#removeBlob(bucketName, removed);
      const versions = record.versions.filter((v) => v !== removed && v.versionId !== versionId);
      if (versions.length === 0) store.delete(ns, key);
      else store.put(ns, key, { key, versions });
      return { deleteMarker: removed.deleteMarker, versionId };
    }
    if (!bucket.versioning) {
      if (record) {
        for (const v of record.versions) this.#removeBlob(bucketName, v);
        store.delete(ns, key);
      }
      return { deleteMarker: false };
    }
    const marker: Version = {
      versionId: bucket.versioning === 'Enabled' ? newVersionId() : 'null',
      deleteMarker: true,
      lastModified: new Date().toISOString(),
      size: 0,
      etag: '',
    };
    this.#addVersion(store, bucketName, key, marker);
    return { deleteMarker: true, versionId: marker.versionId };
  }

  #addVersion(store: StateStore, bucket: string, key: string, version: Version): void {
    const ns = objectsNs(bucket);
    const record = store.get<ObjectRecord>(ns, key) ?? { key, versions: [] };
    // A `null` version is replaced, never stacked (unversioned and suspended buckets).
    const replaced = version.versionId === 'null' ? record.versions.filter((v) => v.versionId === 'null') : [];
    for (const old of replaced) this.#removeBlob(bucket, old);
    const kept = record.versions.filter((v) => !replaced.includes(v));
    store.put(ns, key, { key, versions: [version, ...kept] });
  }

  // --- multipart uploads: parts are files of their own until CompleteMultipartUpload joins them ---

  createUpload(
    store: StateStore,
    bucket: string,
    key: string,
    meta: { contentType?: string; metadata?: Record<string, string> },
  ): string {
    this.bucket(store, bucket);
    validateKey(key);
    const uploadId = randomBytes(32).toString('base64url');
    store.put(UPLOADS, uploadId, {
      bucket,
      key,
      initiated: new Date().toISOString(),
      parts: {},
      ...meta,
    } satisfies Upload);
    return uploadId;
  }

  #upload(store: StateStore, bucket: string, key: string, uploadId: string): Upload {
    const upload = store.get<Upload>(UPLOADS, uploadId);
    if (!upload || upload.bucket !== bucket || upload.key !== key) {
      throw new AwsError(
        'NoSuchUpload',
        'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
        404,
      );
    }
    return upload;
  }

  uploadPart(
    store: StateStore,
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Buffer,
  ): string {
    const upload = this.#upload(store, bucket, key, uploadId);
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) {
      throw new AwsError('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', 400);
    }
    const blob = randomUUID();
    this.#writeBlob(bucket, blob, body);
    const previous = upload.parts[partNumber];
    if (previous) this.#removeBlob(bucket, { blob: previous.blob } as Version);
    const etag = `"${createHash('md5').update(body).digest('hex')}"`;
    upload.parts[partNumber] = { etag, size: body.length, blob, lastModified: new Date().toISOString() };
    store.put(UPLOADS, uploadId, upload);
    return etag;
  }

  /** Joins the listed parts (ascending, ETags matching, all but the last ≥ 5 MiB) into one object version. */
  completeUpload(
    store: StateStore,
    bucket: string,
    key: string,
    uploadId: string,
    parts: Array<{ PartNumber: number; ETag: string }>,
  ): Version {
    const upload = this.#upload(store, bucket, key, uploadId);
    if (parts.length === 0) {
      throw new AwsError(
        'MalformedXML',
        'The XML you provided was not well-formed or did not validate against our published schema',
        400,
      );
    }
    parts.forEach((p, i) => {
      if (i > 0 && p.PartNumber <= (parts[i - 1] as { PartNumber: number }).PartNumber) {
        throw new AwsError(
          'InvalidPartOrder',
          'The list of parts was not in ascending order. Parts must be ordered by part number.',
          400,
        );
      }
    });
    const chosen = parts.map((p, i) => {
      const part = upload.parts[p.PartNumber];
      if (!part || part.etag.replaceAll('"', '') !== String(p.ETag).replaceAll('"', '')) {
        throw new AwsError(
          'InvalidPart',
          "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
          400,
        );
      }
      if (i < parts.length - 1 && part.size < MIN_PART_SIZE) {
        throw new AwsError(
          'EntityTooSmall',
          'Your proposed upload is smaller than the minimum allowed object size.',
          400,
        );
      }
      return part;
    });
    const body = Buffer.concat(
      chosen.map((part) => readFileSync(join(this.#dataDir(), encodeURIComponent(bucket), part.blob))),
    );
    const digest = createHash('md5');
    for (const part of chosen) digest.update(Buffer.from(part.etag.replaceAll('"', ''), 'hex'));
    const version = this.putObject(store, bucket, key, body, {
      ...(upload.contentType ? { contentType: upload.contentType } : {}),
      ...(upload.metadata ? { metadata: upload.metadata } : {}),
      etag: `"${digest.digest('hex')}-${chosen.length}"`,
    });
    this.abortUpload(store, bucket, key, uploadId);
    return version;
  }

  abortUpload(store: StateStore, bucket: string, key: string, uploadId: string): void {
    const upload = this.#upload(store, bucket, key, uploadId);
    for (const part of Object.values(upload.parts)) this.#removeBlob(bucket, { blob: part.blob } as Version);
    store.delete(UPLOADS, uploadId);
  }

  #writeBlob(bucket: string, blob: string, body: Buffer): void {
    const dir = join(this.#dataDir(), encodeURIComponent(bucket));
    mkdirSync(dir, { recursive: true });
    const tmp = join(dir, `${blob}.tmp`);
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, body);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(dir, blob));
  }

  #removeBlob(bucket: string, version: Version): void {
    if (version.blob) rmSync(join(this.#dataDir(), encodeURIComponent(bucket), version.blob), { force: true });
  }
}

const validateKey = (key: string): void => {
  if (typeof key !== 'string' || key.length === 0 || Buffer.byteLength(key) > 1024) {
    throw new AwsError('KeyTooLongError', 'Your key is too long', 400);
  }
};

const newVersionId = (): string => randomBytes(24).toString('base64url');
