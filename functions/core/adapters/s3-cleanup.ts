import { DeleteObjectsCommand, ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';
import { toDomainError, UnavailableError } from '../errors.ts';
import type { BucketCleaner } from '../teardown/ports.ts';

/** Loaded with this module on first use (wiring.ts), so the client tree-shakes with the commands it sends. */
export { S3Client } from '@aws-sdk/client-s3';

/**
 * Empties a bucket the teardown workflow owns (a physical id from ListStackResources of an owned stack): every
 * object version and every delete marker, 1000 per DeleteObjects (the API's maximum), pages followed.
 */
export class S3BucketCleaner implements BucketCleaner {
  readonly #client: S3Client;

  constructor(client: S3Client) {
    this.#client = client;
  }

  async emptyBucket(bucket: string): Promise<number> {
    let deleted = 0;
    let KeyMarker: string | undefined;
    let VersionIdMarker: string | undefined;
    try {
      for (;;) {
        const out = await this.#client.send(
          new ListObjectVersionsCommand({
            Bucket: bucket,
            MaxKeys: 1000,
            ...(KeyMarker ? { KeyMarker } : {}),
            ...(VersionIdMarker ? { VersionIdMarker } : {}),
          }),
        );
        const objects = [...(out.Versions ?? []), ...(out.DeleteMarkers ?? [])].flatMap((v) =>
          v.Key ? [{ Key: v.Key, ...(v.VersionId ? { VersionId: v.VersionId } : {}) }] : [],
        );
        for (let i = 0; i < objects.length; i += 1000) {
          const batch = objects.slice(i, i + 1000);
          const res = await this.#client.send(
            new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch, Quiet: true } }),
          );
          if ((res.Errors ?? []).length > 0) {
            const first = res.Errors?.[0];
            throw new UnavailableError(
              `DeleteObjects ${bucket}: ${res.Errors?.length} failed (${first?.Code}: ${first?.Message})`,
            );
          }
          deleted += batch.length;
        }
        if (!out.IsTruncated) return deleted;
        KeyMarker = out.NextKeyMarker;
        VersionIdMarker = out.NextVersionIdMarker;
      }
    } catch (err) {
      throw toDomainError(err, `emptying bucket ${bucket}`);
    }
  }
}
