import { BatchDeleteImageCommand, ECRClient, ListImagesCommand } from '@aws-sdk/client-ecr';
import { DeleteObjectsCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EcrImageCleaner } from '#core/adapters/ecr';
import { S3BucketCleaner } from '#core/adapters/s3-cleanup';
import { UnavailableError } from '#core/errors';

const s3 = mockClient(S3Client);
const ecr = mockClient(ECRClient);

describe('S3BucketCleaner', () => {
  beforeEach(() => s3.reset());

  it('deletes every version and delete marker, following pages', async () => {
    s3.on(ListObjectVersionsCommand)
      .resolvesOnce({
        Versions: [
          { Key: 'a', VersionId: 'v1' },
          { Key: 'a', VersionId: 'v2' },
        ],
        DeleteMarkers: [{ Key: 'b', VersionId: 'm1' }],
        IsTruncated: true,
        NextKeyMarker: 'b',
        NextVersionIdMarker: 'm1',
      })
      .resolves({ Versions: [{ Key: 'c', VersionId: 'null' }], IsTruncated: false });
    s3.on(DeleteObjectsCommand).resolves({});
    expect(await new S3BucketCleaner(new S3Client({})).emptyBucket('bkt')).toBe(4);
    const lists = s3.commandCalls(ListObjectVersionsCommand).map((c) => c.args[0].input);
    expect(lists).toEqual([
      { Bucket: 'bkt', MaxKeys: 1000 },
      { Bucket: 'bkt', MaxKeys: 1000, KeyMarker: 'b', VersionIdMarker: 'm1' },
    ]);
    expect(s3.commandCalls(DeleteObjectsCommand)[0]?.args[0].input).toEqual({
      Bucket: 'bkt',
      Delete: {
        Objects: [
          { Key: 'a', VersionId: 'v1' },
          { Key: 'a', VersionId: 'v2' },
          { Key: 'b', VersionId: 'm1' },
        ],
        Quiet: true,
      },
    });
  });

  it('fails retryably when DeleteObjects reports per-key errors', async () => {
    s3.on(ListObjectVersionsCommand).resolves({ Versions: [{ Key: 'a', VersionId: 'v1' }] });
    s3.on(DeleteObjectsCommand).resolves({ Errors: [{ Key: 'a', Code: 'AccessDenied', Message: 'no' }] });
    await expect(new S3BucketCleaner(new S3Client({})).emptyBucket('bkt')).rejects.toBeInstanceOf(UnavailableError);
  });
});

describe('EcrImageCleaner', () => {
  beforeEach(() => ecr.reset());

  it('deletes every image by id, page by page', async () => {
    ecr
      .on(ListImagesCommand)
      .resolvesOnce({ imageIds: [{ imageDigest: 'sha256:1', imageTag: 'v1' }], nextToken: 'n' })
      .resolves({ imageIds: [{ imageDigest: 'sha256:2' }] });
    ecr.on(BatchDeleteImageCommand).resolves({});
    expect(await new EcrImageCleaner(new ECRClient({})).deleteImages('repo')).toBe(2);
    expect(ecr).toReceiveCommandWith(BatchDeleteImageCommand, {
      repositoryName: 'repo',
      imageIds: [{ imageDigest: 'sha256:1', imageTag: 'v1' }],
    });
    expect(ecr).toReceiveCommandWith(ListImagesCommand, { repositoryName: 'repo', maxResults: 100, nextToken: 'n' });
  });
});
