/**
 * S3 sub-resources on the local cloud, through the AWS SDK, as S3 answers them (S3 API reference, each operation's
 * request syntax and errors): every sub-resource is its own operation or a 501 NotImplemented, never the bucket or
 * object operation it would be without the query flag. `DELETE /<bucket>?tagging` is DeleteBucketTagging on AWS; a
 * router that ignores the flag deletes the bucket.
 */
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketPolicyCommand,
  DeleteBucketTaggingCommand,
  DeleteObjectTaggingCommand,
  GetBucketEncryptionCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutBucketCorsCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
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

const status = (err: unknown) => (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

describe('local S3 sub-resources', () => {
  it('DeleteBucketTagging on an empty bucket removes the tags and leaves the bucket (it used to delete it)', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'sub-tagged' }));
    await expect(s3.send(new GetBucketTaggingCommand({ Bucket: 'sub-tagged' }))).rejects.toMatchObject({
      name: 'NoSuchTagSet',
      $metadata: { httpStatusCode: 404 },
    });
    await s3.send(
      new PutBucketTaggingCommand({
        Bucket: 'sub-tagged',
        Tagging: {
          TagSet: [
            { Key: 'team', Value: 'payments' },
            { Key: 'stagecrew:managed', Value: 'true' },
          ],
        },
      }),
    );
    expect((await s3.send(new GetBucketTaggingCommand({ Bucket: 'sub-tagged' }))).TagSet).toEqual([
      { Key: 'team', Value: 'payments' },
      { Key: 'stagecrew:managed', Value: 'true' },
    ]);
    await s3.send(new DeleteBucketTaggingCommand({ Bucket: 'sub-tagged' }));
    await s3.send(new HeadBucketCommand({ Bucket: 'sub-tagged' }));
    await expect(s3.send(new GetBucketTaggingCommand({ Bucket: 'sub-tagged' }))).rejects.toMatchObject({
      name: 'NoSuchTagSet',
    });
  });

  it('keeps a bucket policy as put, refuses one that is not JSON, and says when there is none', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'sub-policy' }));
    await expect(s3.send(new GetBucketPolicyCommand({ Bucket: 'sub-policy' }))).rejects.toMatchObject({
      name: 'NoSuchBucketPolicy',
    });
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: 'arn:aws:s3:::sub-policy/*' }],
    });
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'sub-policy', Policy: policy }));
    expect((await s3.send(new GetBucketPolicyCommand({ Bucket: 'sub-policy' }))).Policy).toBe(policy);
    await expect(
      s3.send(new PutBucketPolicyCommand({ Bucket: 'sub-policy', Policy: 'not json' })),
    ).rejects.toMatchObject({ name: 'MalformedPolicy', $metadata: { httpStatusCode: 400 } });
    await s3.send(new DeleteBucketPolicyCommand({ Bucket: 'sub-policy' }));
    await expect(s3.send(new GetBucketPolicyCommand({ Bucket: 'sub-policy' }))).rejects.toMatchObject({
      name: 'NoSuchBucketPolicy',
    });
  });

  it('reports S3 default encryption (SSE-S3) for a bucket that never set one', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'sub-encryption' }));
    const out = await s3.send(new GetBucketEncryptionCommand({ Bucket: 'sub-encryption' }));
    expect(out.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm).toBe(
      'AES256',
    );
  });

  it('answers a sub-resource it does not offer with 501 NotImplemented, never as CreateBucket or a listing', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'sub-cors' }));
    const err = await s3
      .send(
        new PutBucketCorsCommand({
          Bucket: 'sub-cors',
          CORSConfiguration: { CORSRules: [{ AllowedMethods: ['GET'], AllowedOrigins: ['*'] }] },
        }),
      )
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'NotImplemented' });
    expect(status(err)).toBe(501);
    // GetBucketCors (no SDK call needed): the listing XML must not come back as the CORS configuration.
    const raw = await fetch(`${t.url}/sub-cors?cors`, {
      headers: {
        authorization:
          'AWS4-HMAC-SHA256 Credential=local/20261204/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0',
      },
    });
    expect(raw.status).toBe(501);
    expect(await raw.text()).toContain('<Code>NotImplemented</Code>');
    await s3.send(new HeadBucketCommand({ Bucket: 'sub-cors' }));
  });

  it('tags objects, shows their owner ACL, and keeps tags per version', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'sub-objects' }));
    await s3.send(new PutObjectCommand({ Bucket: 'sub-objects', Key: 'a.txt', Body: 'abc' }));
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: 'sub-objects', Key: 'a.txt' }))).TagSet).toEqual([]);
    await s3.send(
      new PutObjectTaggingCommand({
        Bucket: 'sub-objects',
        Key: 'a.txt',
        Tagging: { TagSet: [{ Key: 'stage', Value: 'test' }] },
      }),
    );
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: 'sub-objects', Key: 'a.txt' }))).TagSet).toEqual([
      { Key: 'stage', Value: 'test' },
    ]);
    await s3.send(new DeleteObjectTaggingCommand({ Bucket: 'sub-objects', Key: 'a.txt' }));
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: 'sub-objects', Key: 'a.txt' }))).TagSet).toEqual([]);
    const acl = await s3.send(new GetObjectAclCommand({ Bucket: 'sub-objects', Key: 'a.txt' }));
    expect(acl.Grants?.[0]?.Permission).toBe('FULL_CONTROL');
    expect(acl.Owner?.ID).toBe(acl.Grants?.[0]?.Grantee?.ID);
    await expect(
      s3.send(new GetObjectTaggingCommand({ Bucket: 'sub-objects', Key: 'missing.txt' })),
    ).rejects.toMatchObject({ name: 'NoSuchKey' });
  });

  it('lists multipart uploads and their parts; UploadPartCopy copies a byte range into a part, not onto the key', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'sub-multipart' }));
    await s3.send(new PutObjectCommand({ Bucket: 'sub-multipart', Key: 'source.bin', Body: 'source' }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'sub-multipart', Key: 'big.bin' }));
    const part = await s3.send(
      new UploadPartCommand({ Bucket: 'sub-multipart', Key: 'big.bin', UploadId, PartNumber: 1, Body: 'part-one' }),
    );
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'sub-multipart' }));
    expect(uploads.Uploads?.map((u) => [u.Key, u.UploadId])).toEqual([['big.bin', UploadId]]);
    const parts = await s3.send(new ListPartsCommand({ Bucket: 'sub-multipart', Key: 'big.bin', UploadId }));
    expect(parts.Parts?.map((p) => [p.PartNumber, p.ETag, p.Size])).toEqual([[1, part.ETag, 8]]);
    await expect(
      s3.send(new ListPartsCommand({ Bucket: 'sub-multipart', Key: 'big.bin', UploadId: 'nope' })),
    ).rejects.toMatchObject({ name: 'NoSuchUpload' });
    const copied = await s3.send(
      new UploadPartCopyCommand({
        Bucket: 'sub-multipart',
        Key: 'big.bin',
        UploadId,
        PartNumber: 2,
        CopySource: 'sub-multipart/source.bin',
        CopySourceRange: 'bytes=1-3',
      }),
    );
    expect(copied.CopyPartResult?.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    // The copy became part 2 of the upload; it did not write the upload's key as a CopyObject would have.
    await expect(s3.send(new GetObjectCommand({ Bucket: 'sub-multipart', Key: 'big.bin' }))).rejects.toMatchObject({
      name: 'NoSuchKey',
    });
    const listed = await s3.send(new ListPartsCommand({ Bucket: 'sub-multipart', Key: 'big.bin', UploadId }));
    expect(listed.Parts?.map((p) => [p.PartNumber, p.Size])).toEqual([
      [1, 8],
      [2, 3],
    ]);
    // S3 refuses to join a part under 5 MiB that is not the last one, copied or not.
    await expect(
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: 'sub-multipart',
          Key: 'big.bin',
          UploadId,
          MultipartUpload: {
            Parts: [
              { PartNumber: 1, ETag: part.ETag },
              { PartNumber: 2, ETag: copied.CopyPartResult?.ETag },
            ],
          },
        }),
      ),
    ).rejects.toMatchObject({ name: 'EntityTooSmall' });
  });

  it('ignores an invalid byte range (bytes=1-0) and answers the whole object', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'sub-range' }));
    await s3.send(new PutObjectCommand({ Bucket: 'sub-range', Key: 'r.txt', Body: 'hello' }));
    const out = await s3.send(new GetObjectCommand({ Bucket: 'sub-range', Key: 'r.txt', Range: 'bytes=1-0' }));
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(await out.Body?.transformToString()).toBe('hello');
    const part = await s3.send(new GetObjectCommand({ Bucket: 'sub-range', Key: 'r.txt', Range: 'bytes=1-2' }));
    expect(part.$metadata.httpStatusCode).toBe(206);
    expect(await part.Body?.transformToString()).toBe('el');
  });
});

describe('local S3 request forms', () => {
  it('serves a Signature Version 2 presigned URL and SigV2 header auth (older boto3 and SDKs)', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'sub-sigv2' }));
    await s3.send(new PutObjectCommand({ Bucket: 'sub-sigv2', Key: 'report.txt', Body: 'v2 ok' }));
    const presigned = await fetch(
      `${t.url}/sub-sigv2/report.txt?AWSAccessKeyId=local&Expires=4102444800&Signature=c2lnbmF0dXJl`,
    );
    expect(presigned.status).toBe(200);
    expect(await presigned.text()).toBe('v2 ok');
    const header = await fetch(`${t.url}/sub-sigv2/report.txt`, {
      headers: { authorization: 'AWS local:c2lnbmF0dXJl' },
    });
    expect(await header.text()).toBe('v2 ok');
  });

  it('completes a multipart upload whose part ETags are given without quotes', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'sub-etags' }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'sub-etags', Key: 'one.bin' }));
    const part = await s3.send(
      new UploadPartCommand({ Bucket: 'sub-etags', Key: 'one.bin', UploadId, PartNumber: 1, Body: 'only part' }),
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'sub-etags',
        Key: 'one.bin',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: String(part.ETag).replaceAll('"', '') }] },
      }),
    );
    const out = await s3.send(new GetObjectCommand({ Bucket: 'sub-etags', Key: 'one.bin' }));
    expect(await out.Body?.transformToString()).toBe('only part');
  });
});
