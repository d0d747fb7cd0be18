/**
 * Artifacts are zips in the pipeline's S3 artifact store, reached through the local S3 service with
 * `ctx.call('s3', …)`, under CodePipeline's key layout `<pipeline[0:20]>/<artifact[0:10]>/<random>`.
 */
import { randomBytes } from 'node:crypto';
import type { LocalContext } from '../../types.ts';
import type { ArtifactLocation, S3Location } from '../model.ts';

export function artifactKey(pipelineName: string, artifactName: string): string {
  const id = randomBytes(5).toString('base64url').replace(/[-_]/g, 'x').slice(0, 7);
  return `${pipelineName.slice(0, 20)}/${artifactName.slice(0, 10)}/${id}`;
}

/** Stores an artifact zip at its location (assigned when the action started, so Invoke jobs know it up front). */
export async function putArtifact(
  ctx: LocalContext,
  location: S3Location,
  name: string,
  bytes: Uint8Array,
): Promise<ArtifactLocation> {
  const { bucket, key } = location;
  const put = () =>
    ctx.call('s3', 'PutObject', { Bucket: bucket, Key: key, Body: Buffer.from(bytes), ContentType: 'application/zip' });
  try {
    await put();
  } catch (err) {
    if ((err as { code?: string; name?: string }).code !== 'NoSuchBucket' && (err as Error).name !== 'NoSuchBucket')
      throw err;
    // The seeds create the artifact bucket beforehand; locally we create it on first use instead of failing.
    await ctx.call('s3', 'CreateBucket', { Bucket: bucket });
    await put();
  }
  return { name, s3location: { bucket, key } };
}

/** Reads an artifact's bytes (the in-process S3 call returns `Body` as a Buffer). */
export async function getArtifact(ctx: LocalContext, location: ArtifactLocation): Promise<Uint8Array> {
  const { bucket, key } = location.s3location;
  const out = await ctx.call('s3', 'GetObject', { Bucket: bucket, Key: key });
  if (!(out.Body instanceof Uint8Array)) throw new Error(`Artifact s3://${bucket}/${key} has no body`);
  return out.Body;
}
