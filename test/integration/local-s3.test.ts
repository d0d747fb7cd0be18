import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from '../helpers/local-cloud.ts';

let t: TestCloud;
let s3: S3Client;

beforeAll(async () => {
  t = await startTestCloud();
  s3 = new S3Client(t.clientConfig);
});
afterAll(async () => {
  s3?.destroy();
  await t?.stop();
});

describe('local S3 through the AWS SDK (path-style)', () => {
  it('creates buckets and reads, lists, copies and deletes objects', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'it-artifacts' }));
    await expect(s3.send(new CreateBucketCommand({ Bucket: 'it-artifacts' }))).rejects.toMatchObject({
      name: 'BucketAlreadyOwnedByYou',
    });
    await s3.send(new HeadBucketCommand({ Bucket: 'it-artifacts' }));
    expect((await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).toContain('it-artifacts');

    await s3.send(
      new PutObjectCommand({
        Bucket: 'it-artifacts',
        Key: 'builds/1/app.zip',
        Body: 'zip-bytes',
        ContentType: 'application/zip',
        Metadata: { commit: 'abc123' },
      }),
    );
    const streamed = Buffer.alloc(70_000, 'x');
    await s3.send(
      new PutObjectCommand({
        Bucket: 'it-artifacts',
        Key: 'builds/2/big.bin',
        Body: Readable.from([streamed]),
        ContentLength: streamed.length,
      }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: 'it-artifacts', Key: 'builds/1/app.zip' }));
    expect(await got.Body?.transformToString()).toBe('zip-bytes');
    expect(got).toMatchObject({ ContentType: 'application/zip', Metadata: { commit: 'abc123' }, ContentLength: 9 });
    const part = await s3.send(
      new GetObjectCommand({ Bucket: 'it-artifacts', Key: 'builds/1/app.zip', Range: 'bytes=0-2' }),
    );
    expect(await part.Body?.transformToString()).toBe('zip');
    expect(part.ContentRange).toBe('bytes 0-2/9');
    const big = await s3.send(new GetObjectCommand({ Bucket: 'it-artifacts', Key: 'builds/2/big.bin' }));
    expect((await big.Body?.transformToByteArray())?.length).toBe(70_000);

    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: 'it-artifacts', Prefix: 'builds/', Delimiter: '/' }),
    );
    expect(listed.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['builds/1/', 'builds/2/']);
    await s3.send(
      new CopyObjectCommand({ Bucket: 'it-artifacts', Key: 'latest.zip', CopySource: 'it-artifacts/builds/1/app.zip' }),
    );
    // HEAD: the ETag proves the copy; Content-Length on HEAD is set by the server's writer (see the S3 notes).
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'it-artifacts', Key: 'latest.zip' }))).ETag).toBe(got.ETag);

    await expect(s3.send(new GetObjectCommand({ Bucket: 'it-artifacts', Key: 'missing' }))).rejects.toMatchObject({
      name: 'NoSuchKey',
    });
    await expect(s3.send(new HeadObjectCommand({ Bucket: 'it-artifacts', Key: 'missing' }))).rejects.toMatchObject({
      name: 'NotFound',
    });
    await expect(s3.send(new ListObjectsV2Command({ Bucket: 'it-nothing' }))).rejects.toMatchObject({
      name: 'NoSuchBucket',
    });
    await expect(s3.send(new DeleteBucketCommand({ Bucket: 'it-artifacts' }))).rejects.toMatchObject({
      name: 'BucketNotEmpty',
    });

    for (const Key of ['builds/1/app.zip', 'builds/2/big.bin', 'latest.zip'])
      await s3.send(new DeleteObjectCommand({ Bucket: 'it-artifacts', Key }));
    await s3.send(new DeleteBucketCommand({ Bucket: 'it-artifacts' }));
  });

  it('uploads in parts', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'it-multipart' }));
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'it-multipart', Key: 'artifact.zip' }),
    );
    const first = Buffer.alloc(5 * 1024 * 1024, 'p');
    const p1 = await s3.send(
      new UploadPartCommand({ Bucket: 'it-multipart', Key: 'artifact.zip', UploadId, PartNumber: 1, Body: first }),
    );
    const p2 = await s3.send(
      new UploadPartCommand({ Bucket: 'it-multipart', Key: 'artifact.zip', UploadId, PartNumber: 2, Body: 'end' }),
    );
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'it-multipart',
        Key: 'artifact.zip',
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: p1.ETag },
            { PartNumber: 2, ETag: p2.ETag },
          ],
        },
      }),
    );
    expect(done.ETag).toMatch(/-2"$/);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'it-multipart', Key: 'artifact.zip', Range: 'bytes=-3' }));
    expect(await got.Body?.transformToString()).toBe('end');
    await expect(
      s3.send(
        new UploadPartCommand({ Bucket: 'it-multipart', Key: 'artifact.zip', UploadId, PartNumber: 3, Body: 'late' }),
      ),
    ).rejects.toMatchObject({ name: 'NoSuchUpload' });
    await s3.send(new DeleteObjectCommand({ Bucket: 'it-multipart', Key: 'artifact.zip' }));
    await s3.send(new DeleteBucketCommand({ Bucket: 'it-multipart' }));
  });

  it('empties a versioned bucket with ListObjectVersions and DeleteObjects', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'it-versioned' }));
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: 'it-versioned', VersioningConfiguration: { Status: 'Enabled' } }),
    );
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'it-versioned' }))).Status).toBe('Enabled');
    for (let i = 0; i < 3; i++)
      await s3.send(new PutObjectCommand({ Bucket: 'it-versioned', Key: 'state.json', Body: `{"v":${i}}` }));
    await s3.send(new DeleteObjectCommand({ Bucket: 'it-versioned', Key: 'state.json' }));
    await expect(s3.send(new DeleteBucketCommand({ Bucket: 'it-versioned' }))).rejects.toMatchObject({
      name: 'BucketNotEmpty',
    });

    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: 'it-versioned' }));
    expect(versions.Versions).toHaveLength(3);
    expect(versions.DeleteMarkers).toHaveLength(1);
    expect(versions.DeleteMarkers?.[0]?.IsLatest).toBe(true);
    const oldest = versions.Versions?.at(-1)?.VersionId;
    const read = await s3.send(new GetObjectCommand({ Bucket: 'it-versioned', Key: 'state.json', VersionId: oldest }));
    expect(await read.Body?.transformToString()).toBe('{"v":0}');

    const objects = [...(versions.Versions ?? []), ...(versions.DeleteMarkers ?? [])].map((v) => ({
      Key: v.Key,
      VersionId: v.VersionId,
    }));
    const result = await s3.send(new DeleteObjectsCommand({ Bucket: 'it-versioned', Delete: { Objects: objects } }));
    expect(result.Deleted).toHaveLength(4);
    expect(result.Errors ?? []).toEqual([]);
    await s3.send(new DeleteBucketCommand({ Bucket: 'it-versioned' }));
  });

  it('answers HeadObject with the object size and no body', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'it-head' }));
    const bytes = Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0xff, 0x80, 0x0a]);
    await s3.send(
      new PutObjectCommand({ Bucket: 'it-head', Key: 'a.zip', Body: bytes, ContentType: 'application/zip' }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'it-head', Key: 'a.zip' }));
    expect(head.ContentLength).toBe(bytes.length);
    expect(head.ContentType).toBe('application/zip');

    const raw = await fetch(`${t.url}/it-head/a.zip`, {
      method: 'HEAD',
      headers: { authorization: 'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/s3/aws4_request, Signature=x' },
    });
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-length')).toBe(String(bytes.length));
    expect((await raw.arrayBuffer()).byteLength).toBe(0);
  });

  it("keeps object bytes in the cloud's own state directory", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'it-state-dir' }));
    const bytes = Buffer.from(`only-in-${t.stateDir}`);
    await s3.send(new PutObjectCommand({ Bucket: 'it-state-dir', Key: 'k', Body: bytes }));
    const dir = join(t.stateDir, 's3', 'it-state-dir');
    expect(existsSync(dir)).toBe(true);
    expect(readdirSync(dir).some((f) => readFileSync(join(dir, f)).equals(bytes))).toBe(true);
  });

  it("gives in-process callers an object's bytes intact", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'it-binary' }));
    const zip = Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0xff, 0xd8, 0x80, 0xc3, 0x28, 0x00]);
    await s3.send(new PutObjectCommand({ Bucket: 'it-binary', Key: 'a.zip', Body: zip }));
    const out = await t.cloud.ctx.call('s3', 'GetObject', { Bucket: 'it-binary', Key: 'a.zip' });
    expect(Buffer.isBuffer(out.Body)).toBe(true);
    expect((out.Body as Buffer).equals(zip)).toBe(true);
    expect(out.ContentLength).toBe(zip.length);
  });
});
