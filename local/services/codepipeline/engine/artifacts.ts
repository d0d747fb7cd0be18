/**
 * Artifacts are zips in the pipeline's S3 artifact store, reached through the local S3 service with
 * `ctx.call('s3', …)`, under CodePipeline's key layout `<pipeline[0:20]>/<artifact[0:10]>/<random>`.
 */
import { randomBytes } from 'node:crypto';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { LocalContext } from '../../types.ts';
import type { ArtifactLocation, S3Location } from '../model.ts';

async function toBytes(body: unknown): Promise<Uint8Array | undefined> {
  if (body instanceof Uint8Array) return body;
  if (typeof body === 'string') return undefined; // text-decoded in-process: lossy for zips
  if (body && typeof body === 'object') {
    const json = body as { type?: string; data?: number[] };
    if (json.type === 'Buffer' && Array.isArray(json.data)) return Uint8Array.from(json.data);
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

const clients = new Map<string, S3Client>();

/**
 * Reads an artifact's bytes. The in-process S3 call returns object bodies as text, which corrupts zips, so when
 * it does, the bytes are fetched over the local cloud's own S3 endpoint instead (as a Lambda would).
 */
export async function getArtifact(ctx: LocalContext, location: ArtifactLocation): Promise<Uint8Array> {
  const { bucket, key } = location.s3location;
  const out = await ctx.call('s3', 'GetObject', { Bucket: bucket, Key: key });
  const bytes = await toBytes(out.Body);
  if (bytes) return bytes;
  let client = clients.get(ctx.baseUrl);
  if (!client) {
    client = new S3Client({
      endpoint: ctx.baseUrl,
      region: ctx.region,
      forcePathStyle: true,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    clients.set(ctx.baseUrl, client);
  }
  const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!res.Body) throw new Error(`Artifact s3://${bucket}/${key} has no body`);
  return res.Body.transformToByteArray();
}
