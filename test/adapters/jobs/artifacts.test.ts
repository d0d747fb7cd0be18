import { GetObjectCommand, type GetObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { strToU8, zipSync } from 'fflate';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import withArtifacts from '../../../events/codepipeline-job-artifacts.json' with { type: 'json' };
import { jobS3Client, MAX_FILE_BYTES, S3ArtifactSource } from '../../../functions/core/adapters/artifacts.ts';
import { PermissionError } from '../../../functions/core/errors.ts';
import { JobConfigurationError, JobFailedError } from '../../../functions/core/jobs/errors.ts';
import { parseJobEvent } from '../../../functions/core/jobs/schema.ts';

const s3 = mockClient(S3Client);
const zip = (files: Record<string, string>) =>
  zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, strToU8(v)])));
/** The part of the SDK's streaming body the adapter uses. */
const body = (bytes: Uint8Array) =>
  ({ transformToByteArray: async () => bytes }) as unknown as GetObjectCommandOutput['Body'];

const job = () => {
  const parsed = parseJobEvent(structuredClone(withArtifacts));
  if (!parsed.ok) throw new Error('fixture is not a valid job');
  return parsed.job;
};

describe('S3ArtifactSource', () => {
  beforeEach(() => s3.reset());
  afterEach(() => vi.unstubAllEnvs());

  it('reads one file out of the named artifact zip, downloading each artifact once', async () => {
    s3.on(GetObjectCommand).resolves({
      Body: body(zip({ 'smoke/urls.txt': 'https://a.example\n', 'README.md': 'x' })),
      ContentLength: 200,
    });
    const reader = new S3ArtifactSource().open(job());
    expect(await reader.readText('BuildOutput', 'smoke/urls.txt', 'urlsFile')).toBe('https://a.example\n');
    expect(await reader.readText('BuildOutput', './README.md', 'urlsFile')).toBe('x');
    expect(s3).toHaveReceivedCommandTimes(GetObjectCommand, 1);
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, {
      Bucket: 'codepipeline-us-east-1-111111111111',
      Key: 'awscicd-pipeline/BuildOutpu/Xk3fJ2a',
    });
  });

  it('names the field when the file, the artifact or the artifact choice is wrong', async () => {
    s3.on(GetObjectCommand).callsFake(() => ({ Body: body(zip({ 'a.txt': 'a' })) }));
    const reader = new S3ArtifactSource().open(job());
    await expect(reader.readText('BuildOutput', 'missing.txt', 'urlsFile')).rejects.toThrow(
      new JobConfigurationError('urlsFile', 'file missing.txt is not in input artifact BuildOutput'),
    );
    await expect(reader.readText('Nope', 'a.txt', 'urlsFile')).rejects.toThrow(
      /urlsFile: input artifact Nope is not an input of this action \(inputs: BuildOutput, SourceOutput\)/,
    );
    await expect(reader.readText(undefined, 'a.txt', 'urlsFile')).rejects.toThrow(
      /has 2 input artifacts; name one with "artifact"/,
    );
  });

  it('maps S3 errors: denied or expired credentials → PermissionError, a missing object → JobFailed', async () => {
    s3.on(GetObjectCommand)
      .rejectsOnce(
        Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }),
      )
      .rejectsOnce(Object.assign(new Error('gone'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }));
    await expect(new S3ArtifactSource().open(job()).readText('BuildOutput', 'a', 'f')).rejects.toThrow(PermissionError);
    await expect(new S3ArtifactSource().open(job()).readText('BuildOutput', 'a', 'f')).rejects.toThrow(JobFailedError);
  });

  it('refuses a file that inflates past the limit without inflating it', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body(zip({ 'urls.txt': 'x'.repeat(MAX_FILE_BYTES + 1) })) });
    await expect(new S3ArtifactSource().open(job()).readText('BuildOutput', 'urls.txt', 'urlsFile')).rejects.toThrow(
      /^urlsFile: file urls.txt is 4194305 bytes; the limit is 4194304$/,
    );
  });

  it('refuses something that is not a zip', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body(strToU8('plain text')) });
    await expect(new S3ArtifactSource().open(job()).readText('BuildOutput', 'a', 'f')).rejects.toThrow(
      /not a readable zip/,
    );
  });

  it('builds the per-job S3 client with the job credentials, and path-style against a local endpoint', async () => {
    vi.stubEnv('STAGECREW_LOCAL_ENDPOINT', 'http://127.0.0.1:4566');
    const client = jobS3Client(job());
    const creds = await client.config.credentials();
    expect(creds).toMatchObject({
      accessKeyId: 'ASIAEXAMPLEJOBKEY000',
      secretAccessKey: 'example-secret-key-not-real',
      sessionToken: 'example-session-token-not-real',
    });
    expect(client.config.forcePathStyle).toBe(true);
    const endpoint = await client.config.endpoint?.();
    expect(endpoint?.hostname).toBe('127.0.0.1');
  });
});
