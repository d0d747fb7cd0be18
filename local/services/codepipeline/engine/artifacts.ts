/**
 * Artifacts are zips in the pipeline's S3 artifact store, reached through the local S3 service with
 * `ctx.call('s3', …)`, under CodePipeline's key layout `<pipeline[0:20]>/<artifact[0:10]>/<random>`.
 */
import { randomBytes } from 'node:crypto';
import type { LocalContext } from '../../types.ts';
import type { ArtifactLocation } from '../model.ts';

async function toBytes(body: unknown): Promise<Uint8Array> {
  if (body instanceof Uint8Array) return body;
  if (typeof body === 'string') return Buffer.from(body, 'binary');
  if (body && typeof body === 'object') {
    const b = body as { transformToByteArray?: () => Promise<Uint8Array>; [Symbol.asyncIterator]?: unknown };
    if (typeof b.transformToByteArray === 'function') return b.transformToByteArray();
    if (typeof b[Symbol.asyncIterator] === 'function') {
      const chunks: Buffer[] = [];
      for await (const chunk of body as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk));
      return Buffer.concat(chunks);
    }
  }
  throw new Error('The artifact store returned an object body of an unknown type');
}

export function artifactKey(pipelineName: string, artifactName: string): string {
  const id = randomBytes(5).toString('base64url').replace(/[-_]/g, 'x').slice(0, 7);
  return `${pipelineName.slice(0, 20)}/${artifactName.slice(0, 10)}/${id}`;
}

export async function putArtifact(
  ctx: LocalContext,
  bucket: string,
  pipelineName: string,
  name: string,
  bytes: Uint8Array,
): Promise<ArtifactLocation> {
  const key = artifactKey(pipelineName, name);
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

export async function getArtifact(ctx: LocalContext, location: ArtifactLocation): Promise<Uint8Array> {
  const out = await ctx.call('s3', 'GetObject', { Bucket: location.s3location.bucket, Key: location.s3location.key });
  return toBytes(out.Body);
}
