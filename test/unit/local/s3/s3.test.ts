import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { plain } from '#local/main';
import { createS3Service } from '#local/services/s3/index';
import { decodeAwsChunked } from '#local/services/s3/rest';
import { runSdk } from '#local/services/stepfunctions/tasks';
import type { Operation, RawRequest, RestService } from '#local/services/types';
import { FileStore } from '#local/store/store';
import { makeContext, type TestContext } from './context.ts';

let dir: string;
let s3: RestService;
let ctx: TestContext;
const op = async (name: string, input: Record<string, unknown>) =>
  (await s3.operations?.[name]?.(input, ctx)) as Record<string, unknown>;
const req = (
  method: string,
  path: string,
  query = '',
  body = '',
  headers: Record<string, string> = {},
): RawRequest => ({
  method,
  path,
  query: new URLSearchParams(query),
  headers,
  body: Buffer.from(body),
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 's3-test-'));
  s3 = createS3Service({ dataDir: dir });
  ctx = makeContext({ services: [s3] });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('local S3 operations', () => {
  it('stores and reads objects, with bytes on disk and S3 errors for missing things', async () => {
    await op('CreateBucket', { Bucket: 'artifacts' });
    await expect(op('CreateBucket', { Bucket: 'artifacts' })).rejects.toMatchObject({
      code: 'BucketAlreadyOwnedByYou',
      status: 409,
    });
    await expect(op('CreateBucket', { Bucket: 'Bad_Name' })).rejects.toMatchObject({ code: 'InvalidBucketName' });
    const put = await op('PutObject', {
      Bucket: 'artifacts',
      Key: 'a/b.txt',
      Body: 'hello',
      ContentType: 'text/plain',
    });
    expect(put.ETag).toBe('"5d41402abc4b2a76b9719d911017c592"');
    expect(put.VersionId).toBeUndefined();
    const got = await op('GetObject', { Bucket: 'artifacts', Key: 'a/b.txt' });
    expect(got).toMatchObject({ Body: Buffer.from('hello'), ContentLength: 5, ContentType: 'text/plain' });
    expect(readdirSync(join(dir, 'artifacts'))).toHaveLength(1);
    await expect(op('GetObject', { Bucket: 'artifacts', Key: 'nope' })).rejects.toMatchObject({
      code: 'NoSuchKey',
      status: 404,
    });
    await expect(op('GetObject', { Bucket: 'missing', Key: 'x' })).rejects.toMatchObject({
      code: 'NoSuchBucket',
      status: 404,
    });
    await expect(op('DeleteBucket', { Bucket: 'artifacts' })).rejects.toMatchObject({
      code: 'BucketNotEmpty',
      status: 409,
    });
    await op('DeleteObject', { Bucket: 'artifacts', Key: 'a/b.txt' });
    expect(readdirSync(join(dir, 'artifacts'))).toHaveLength(0);
    await op('DeleteBucket', { Bucket: 'artifacts' });
    expect((await op('ListBuckets', {})).Buckets).toEqual([]);
  });

  it('lists with prefix, delimiter and continuation tokens', async () => {
    await op('CreateBucket', { Bucket: 'bk1' });
    for (const k of ['a/1', 'a/2', 'b/1', 'c', 'd']) await op('PutObject', { Bucket: 'bk1', Key: k, Body: k });
    const top = await op('ListObjectsV2', { Bucket: 'bk1', Delimiter: '/' });
    expect(top.CommonPrefixes).toEqual([{ Prefix: 'a/' }, { Prefix: 'b/' }]);
    expect((top.Contents as Array<{ Key: string }>).map((c) => c.Key)).toEqual(['c', 'd']);
    const first = await op('ListObjectsV2', { Bucket: 'bk1', MaxKeys: 2 });
    expect(first).toMatchObject({ IsTruncated: true, KeyCount: 2 });
    const second = await op('ListObjectsV2', { Bucket: 'bk1', ContinuationToken: first.NextContinuationToken });
    expect((second.Contents as Array<{ Key: string }>).map((c) => c.Key)).toEqual(['b/1', 'c', 'd']);
    expect(second.IsTruncated).toBe(false);
  });

  it('empties a versioned bucket by deleting every version and delete marker', async () => {
    await op('CreateBucket', { Bucket: 'versioned' });
    await op('PutBucketVersioning', { Bucket: 'versioned', VersioningConfiguration: { Status: 'Enabled' } });
    expect(await op('GetBucketVersioning', { Bucket: 'versioned' })).toEqual({ Status: 'Enabled' });
    const v1 = await op('PutObject', { Bucket: 'versioned', Key: 'k', Body: 'one' });
    const v2 = await op('PutObject', { Bucket: 'versioned', Key: 'k', Body: 'two' });
    expect(v1.VersionId).not.toBe(v2.VersionId);
    await op('PutObject', { Bucket: 'versioned', Key: 'other', Body: 'x' });
    const del = await op('DeleteObject', { Bucket: 'versioned', Key: 'k' });
    expect(del.DeleteMarker).toBe(true);
    await expect(op('GetObject', { Bucket: 'versioned', Key: 'k' })).rejects.toMatchObject({ code: 'NoSuchKey' });
    expect((await op('GetObject', { Bucket: 'versioned', Key: 'k', VersionId: v1.VersionId })).Body).toEqual(
      Buffer.from('one'),
    );
    expect((await op('ListObjectsV2', { Bucket: 'versioned' })).Contents).toHaveLength(1);

    // A plain delete of every key only adds markers: the bucket is still not empty.
    await op('DeleteObject', { Bucket: 'versioned', Key: 'other' });
    await expect(op('DeleteBucket', { Bucket: 'versioned' })).rejects.toMatchObject({ code: 'BucketNotEmpty' });

    const listing = await op('ListObjectVersions', { Bucket: 'versioned' });
    const versions = listing.Versions as Array<{ Key: string; VersionId: string; IsLatest: boolean }>;
    const markers = listing.DeleteMarkers as Array<{ Key: string; VersionId: string; IsLatest: boolean }>;
    expect(versions).toHaveLength(3);
    expect(markers).toHaveLength(2);
    expect(markers.every((m) => m.IsLatest)).toBe(true);
    const result = await op('DeleteObjects', {
      Bucket: 'versioned',
      Delete: { Objects: [...versions, ...markers].map((v) => ({ Key: v.Key, VersionId: v.VersionId })) },
    });
    expect(result.Deleted).toHaveLength(5);
    expect(result.Errors).toEqual([]);
    expect(await op('ListObjectVersions', { Bucket: 'versioned' })).toMatchObject({ Versions: [], DeleteMarkers: [] });
    await op('DeleteBucket', { Bucket: 'versioned' });
  });

  it('pages ListObjectVersions with key and version markers', async () => {
    await op('CreateBucket', { Bucket: 'pages' });
    await op('PutBucketVersioning', { Bucket: 'pages', VersioningConfiguration: { Status: 'Enabled' } });
    for (let i = 0; i < 3; i++) await op('PutObject', { Bucket: 'pages', Key: 'k', Body: String(i) });
    await op('PutObject', { Bucket: 'pages', Key: 'z', Body: 'z' });
    const seen: string[] = [];
    let input: Record<string, unknown> = { Bucket: 'pages', MaxKeys: 2 };
    for (;;) {
      const page = await op('ListObjectVersions', input);
      seen.push(...(page.Versions as Array<{ VersionId: string }>).map((v) => v.VersionId));
      if (!page.IsTruncated) break;
      input = { ...input, KeyMarker: page.NextKeyMarker, VersionIdMarker: page.NextVersionIdMarker };
    }
    expect(new Set(seen).size).toBe(4);
  });

  it('assembles multipart uploads with S3 ETags and part rules', async () => {
    await op('CreateBucket', { Bucket: 'multi' });
    const { UploadId } = await op('CreateMultipartUpload', {
      Bucket: 'multi',
      Key: 'big.zip',
      ContentType: 'application/zip',
    });
    const first = Buffer.alloc(5 * 1024 * 1024, 'a');
    const p1 = await op('UploadPart', { Bucket: 'multi', Key: 'big.zip', UploadId, PartNumber: 1, Body: first });
    const p2 = await op('UploadPart', { Bucket: 'multi', Key: 'big.zip', UploadId, PartNumber: 2, Body: 'tail' });
    await expect(
      op('CompleteMultipartUpload', {
        Bucket: 'multi',
        Key: 'big.zip',
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 2, ETag: p2.ETag },
            { PartNumber: 1, ETag: p1.ETag },
          ],
        },
      }),
    ).rejects.toMatchObject({ code: 'InvalidPartOrder' });
    await expect(
      op('CompleteMultipartUpload', {
        Bucket: 'multi',
        Key: 'big.zip',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"bad"' }] },
      }),
    ).rejects.toMatchObject({ code: 'InvalidPart' });
    const done = await op('CompleteMultipartUpload', {
      Bucket: 'multi',
      Key: 'big.zip',
      UploadId,
      MultipartUpload: {
        Parts: [
          { PartNumber: 1, ETag: p1.ETag },
          { PartNumber: 2, ETag: p2.ETag },
        ],
      },
    });
    expect(done.ETag).toMatch(/^"[0-9a-f]{32}-2"$/);
    const got = await op('HeadObject', { Bucket: 'multi', Key: 'big.zip' });
    expect(got).toMatchObject({ ContentLength: first.length + 4, ContentType: 'application/zip', ETag: done.ETag });
    // The upload is gone once completed, and its part files with it.
    await expect(op('AbortMultipartUpload', { Bucket: 'multi', Key: 'big.zip', UploadId })).rejects.toMatchObject({
      code: 'NoSuchUpload',
    });
    expect(readdirSync(join(dir, 'multi'))).toHaveLength(1);

    const small = await op('CreateMultipartUpload', { Bucket: 'multi', Key: 'small' });
    const s1 = await op('UploadPart', {
      Bucket: 'multi',
      Key: 'small',
      UploadId: small.UploadId,
      PartNumber: 1,
      Body: 'x',
    });
    const s2 = await op('UploadPart', {
      Bucket: 'multi',
      Key: 'small',
      UploadId: small.UploadId,
      PartNumber: 2,
      Body: 'y',
    });
    await expect(
      op('CompleteMultipartUpload', {
        Bucket: 'multi',
        Key: 'small',
        UploadId: small.UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: s1.ETag },
            { PartNumber: 2, ETag: s2.ETag },
          ],
        },
      }),
    ).rejects.toMatchObject({ code: 'EntityTooSmall' });
    await op('AbortMultipartUpload', { Bucket: 'multi', Key: 'small', UploadId: small.UploadId });
    expect(readdirSync(join(dir, 'multi'))).toHaveLength(1);
  });

  it('keeps buckets, versions and bytes across a restart (durable store, files on disk)', async () => {
    const stateDir = join(dir, 'state');
    const first = new FileStore(stateDir);
    const before = makeContext({ store: first, services: [s3] });
    await s3.operations?.CreateBucket?.({ Bucket: 'durable' }, before);
    await s3.operations?.PutBucketVersioning?.(
      { Bucket: 'durable', VersioningConfiguration: { Status: 'Enabled' } },
      before,
    );
    const v1 = (await s3.operations?.PutObject?.({ Bucket: 'durable', Key: 'k', Body: 'one' }, before)) as {
      VersionId: string;
    };
    await s3.operations?.PutObject?.({ Bucket: 'durable', Key: 'k', Body: 'two' }, before);
    first.close();

    const again = createS3Service({ dataDir: dir });
    const after = makeContext({ store: new FileStore(stateDir), services: [again] });
    const getObject = again.operations?.GetObject as Operation;
    const read = async (input: Record<string, unknown>) =>
      ((await getObject({ Bucket: 'durable', Key: 'k', ...input }, after)) as { Body: Buffer }).Body.toString('utf8');
    expect(await read({})).toBe('two');
    expect(await read({ VersionId: v1.VersionId })).toBe('one');
  });

  it('returns binary bodies intact in-process, and as text to Step Functions aws-sdk tasks', async () => {
    const zip = Buffer.from([0x50, 0x4b, 0x03, 0x04, 0xff, 0xfe, 0x80, 0x00, 0xc3, 0x28]);
    await op('CreateBucket', { Bucket: 'bin' });
    await op('PutObject', { Bucket: 'bin', Key: 'a.zip', Body: zip });
    const got = await op('GetObject', { Bucket: 'bin', Key: 'a.zip' });
    expect(Buffer.isBuffer(got.Body) && got.Body.equals(zip)).toBe(true);
    // What the cloud's call() hands back: JSON-shaped, but the body stays bytes.
    const viaCall = plain(got);
    expect(Buffer.isBuffer(viaCall.Body) && viaCall.Body.equals(zip)).toBe(true);
    expect(viaCall.LastModified).toBe(got.LastModified);

    await op('PutObject', { Bucket: 'bin', Key: 'note.json', Body: '{"ok":true}' });
    const task = (await runSdk(ctx, 's3', 'getObject', { Bucket: 'bin', Key: 'note.json' })) as Record<string, unknown>;
    expect(task.Body).toBe('{"ok":true}');
    expect(JSON.parse(JSON.stringify(task))).toEqual(task);
  });

  it('copies objects', async () => {
    await op('CreateBucket', { Bucket: 'src' });
    await op('PutObject', { Bucket: 'src', Key: 'a b', Body: 'data', Metadata: { team: 'x' } });
    await op('CopyObject', { Bucket: 'src', Key: 'copy', CopySource: 'src/a%20b' });
    expect(await op('GetObject', { Bucket: 'src', Key: 'copy' })).toMatchObject({
      Body: Buffer.from('data'),
      Metadata: { team: 'x' },
    });
  });
});

describe('local S3 REST front', () => {
  it('routes path-style requests and returns S3 XML', async () => {
    expect((await s3.handle(req('PUT', '/web'), ctx)).status).toBe(200);
    const put = await s3.handle(
      req('PUT', '/web/dir/index.html', '', '<h1>hi</h1>', { 'content-type': 'text/html', 'x-amz-meta-owner': 'me' }),
      ctx,
    );
    expect(put.headers?.etag).toMatch(/^"[0-9a-f]{32}"$/);
    const get = await s3.handle(req('GET', '/web/dir/index.html'), ctx);
    expect(get.body?.toString()).toBe('<h1>hi</h1>');
    expect(get.headers).toMatchObject({ 'content-type': 'text/html', 'x-amz-meta-owner': 'me' });
    const list = await s3.handle(req('GET', '/web', 'list-type=2&prefix=dir/'), ctx);
    expect(list.body).toContain('<Key>dir/index.html</Key>');
    expect(list.body).toContain('<KeyCount>1</KeyCount>');
    const missing = await s3.handle(req('GET', '/web/none'), ctx);
    expect(missing.status).toBe(404);
    expect(missing.body).toContain('<Code>NoSuchKey</Code>');
    expect((await s3.handle(req('HEAD', '/nobucket'), ctx)).status).toBe(404);
    const notEmpty = await s3.handle(req('DELETE', '/web'), ctx);
    expect(notEmpty.status).toBe(409);
    expect(notEmpty.body).toContain('<Code>BucketNotEmpty</Code>');
  });

  it('handles versioning and multi-delete XML documents', async () => {
    await s3.handle(req('PUT', '/ver'), ctx);
    const body =
      '<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>';
    expect((await s3.handle(req('PUT', '/ver', 'versioning', body), ctx)).status).toBe(200);
    const put = await s3.handle(req('PUT', '/ver/k', '', 'x'), ctx);
    const versionId = put.headers?.['x-amz-version-id'];
    expect(versionId).toBeTruthy();
    await s3.handle(req('DELETE', '/ver/k'), ctx);
    const versions = await s3.handle(req('GET', '/ver', 'versions'), ctx);
    expect(versions.body).toMatch(/<DeleteMarker>.*<\/DeleteMarker><Version>.*<\/Version>/s);
    const multi = `<Delete><Object><Key>k</Key><VersionId>${versionId}</VersionId></Object></Delete>`;
    const deleted = await s3.handle(req('POST', '/ver', 'delete', multi), ctx);
    expect(deleted.body).toContain(`<VersionId>${versionId}</VersionId>`);
  });

  it('URL-encodes listed keys when asked (encoding-type=url, as the AWS CLI does)', async () => {
    await s3.handle(req('PUT', '/enc'), ctx);
    await s3.handle(req('PUT', `/enc/${encodeURIComponent('dir/100% done&more.txt')}`, '', 'x'), ctx);
    const listed = await s3.handle(req('GET', '/enc', 'list-type=2&encoding-type=url'), ctx);
    expect(listed.body).toContain('<Key>dir/100%25%20done%26more.txt</Key>');
    expect(listed.body).toContain('<EncodingType>url</EncodingType>');
    const versions = await s3.handle(req('GET', '/enc', 'versions&encoding-type=url'), ctx);
    expect(versions.body).toContain('<Key>dir/100%25%20done%26more.txt</Key>');
    const plain = await s3.handle(req('GET', '/enc', 'list-type=2'), ctx);
    expect(plain.body).toContain('<Key>dir/100% done&amp;more.txt</Key>');
  });

  it('serves byte ranges', async () => {
    await s3.handle(req('PUT', '/ranges'), ctx);
    await s3.handle(req('PUT', '/ranges/k', '', '0123456789'), ctx);
    const part = await s3.handle(req('GET', '/ranges/k', '', '', { range: 'bytes=2-4' }), ctx);
    expect(part.status).toBe(206);
    expect(part.body?.toString()).toBe('234');
    expect(part.headers?.['content-range']).toBe('bytes 2-4/10');
    expect((await s3.handle(req('GET', '/ranges/k', '', '', { range: 'bytes=-3' }), ctx)).body?.toString()).toBe('789');
    expect((await s3.handle(req('GET', '/ranges/k', '', '', { range: 'bytes=20-' }), ctx)).status).toBe(416);
  });

  it('decodes aws-chunked upload bodies', () => {
    const chunked = Buffer.from('5;chunk-signature=abc\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAA\r\n\r\n');
    expect(decodeAwsChunked(chunked).toString()).toBe('hello');
  });
});
