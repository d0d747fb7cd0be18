import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { unzipSync } from 'fflate';
import { clientSettings } from '../clients.ts';
import { PermissionError, toDomainError } from '../errors.ts';
import { JobConfigurationError, JobFailedError } from '../jobs/errors.ts';
import type { ArtifactReader, ArtifactSource } from '../jobs/ports.ts';
import type { ArtifactLocation, Job } from '../jobs/schema.ts';

/** Input artifacts larger than this are refused rather than buffered into the function's memory. */
export const MAX_ARTIFACT_BYTES = 64 * 1024 * 1024;
/** A file read out of an artifact is a parameter file (a URL list, …): larger means a wrong path or a zip bomb. */
export const MAX_FILE_BYTES = 4 * 1024 * 1024;

export type S3ClientFactory = (job: Job) => S3Client;

/**
 * The one S3 client not built at cold start, by necessity: input artifacts can only be read with the job's own
 * `artifactCredentials`, which change per job. Endpoint, region, timeouts and retries still come from
 * clientSettings(); against the local cloud, S3 needs path-style addressing.
 */
export const jobS3Client: S3ClientFactory = (job) => {
  const settings = clientSettings();
  const c = job.credentials;
  return new S3Client({
    ...settings,
    ...(settings.endpoint ? { forcePathStyle: true } : {}),
    ...(c
      ? {
          credentials: {
            accessKeyId: c.accessKeyId,
            secretAccessKey: c.secretAccessKey,
            ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
            ...(c.expiresAt ? { expiration: c.expiresAt } : {}),
          },
        }
      : {}),
  });
};

/**
 * Reads files from a job's input artifacts: each artifact is a zip in the pipeline's artifact bucket, fetched
 * at most once per invocation and unzipped with fflate (only the requested file is inflated).
 */
export class S3ArtifactSource implements ArtifactSource {
  readonly #clientFor: S3ClientFactory;

  constructor(clientFor: S3ClientFactory = jobS3Client) {
    this.#clientFor = clientFor;
  }

  open(job: Job): ArtifactReader {
    const zips = new Map<string, Promise<Uint8Array>>();
    const fetchZip = (a: ArtifactLocation): Promise<Uint8Array> => {
      let p = zips.get(a.name);
      if (p === undefined) {
        // A client per download, closed right after: the credentials are the job's and its sockets must not
        // outlive it in a warm container.
        const client = this.#clientFor(job);
        p = download(client, a).finally(() => client.destroy());
        zips.set(a.name, p);
      }
      return p;
    };
    return {
      async readText(artifactName, path, field) {
        const artifact = pick(job.inputArtifacts, artifactName, field);
        const zip = await fetchZip(artifact);
        const wanted = path.replace(/^\.?\/+/, '');
        let files: Record<string, Uint8Array>;
        let tooLarge = 0;
        try {
          files = unzipSync(zip, {
            filter: (f) => {
              if (f.name !== wanted) return false;
              if (f.originalSize > MAX_FILE_BYTES) tooLarge = f.originalSize;
              return tooLarge === 0;
            },
          });
        } catch (cause) {
          throw new JobFailedError(`input artifact ${artifact.name} is not a readable zip file`, { cause });
        }
        if (tooLarge > 0) {
          throw new JobConfigurationError(field, `file ${wanted} is ${tooLarge} bytes; the limit is ${MAX_FILE_BYTES}`);
        }
        const file = files[wanted];
        if (file === undefined) {
          throw new JobConfigurationError(field, `file ${wanted} is not in input artifact ${artifact.name}`);
        }
        return new TextDecoder('utf-8').decode(file);
      },
    };
  }
}

const pick = (artifacts: readonly ArtifactLocation[], name: string | undefined, field: string): ArtifactLocation => {
  if (name === undefined) {
    if (artifacts.length === 1 && artifacts[0]) return artifacts[0];
    throw new JobConfigurationError(
      field,
      artifacts.length === 0
        ? 'the action has no input artifact to read the file from'
        : `the action has ${artifacts.length} input artifacts; name one with "artifact" (${artifacts.map((a) => a.name).join(', ')})`,
    );
  }
  const found = artifacts.find((a) => a.name === name);
  if (!found) {
    throw new JobConfigurationError(
      field,
      `input artifact ${name} is not an input of this action (inputs: ${artifacts.map((a) => a.name).join(', ') || 'none'})`,
    );
  }
  return found;
};

const download = async (client: S3Client, a: ArtifactLocation): Promise<Uint8Array> => {
  if (a.bucket === undefined || a.key === undefined) {
    throw new JobConfigurationError('inputArtifacts', `input artifact ${a.name} has no S3 location`);
  }
  try {
    const out = await client.send(new GetObjectCommand({ Bucket: a.bucket, Key: a.key }));
    if ((out.ContentLength ?? 0) > MAX_ARTIFACT_BYTES) {
      throw new JobFailedError(
        `input artifact ${a.name} is ${out.ContentLength} bytes; the limit is ${MAX_ARTIFACT_BYTES}`,
      );
    }
    if (!out.Body) throw new JobFailedError(`input artifact ${a.name} is empty`);
    return await out.Body.transformToByteArray();
  } catch (err) {
    if (err instanceof JobFailedError) throw err;
    const name = typeof err === 'object' && err !== null && 'name' in err ? String(err.name) : '';
    if (name === 'NoSuchKey' || name === 'NoSuchBucket' || name === 'NotFound') {
      throw new JobFailedError(`input artifact ${a.name} is missing from the artifact store (${name})`, { cause: err });
    }
    if (name === 'AccessDenied' || name === 'Forbidden' || name === 'ExpiredToken') {
      throw new PermissionError(`reading input artifact ${a.name}: ${name}`, { cause: err });
    }
    throw toDomainError(err, `reading input artifact ${a.name}`);
  }
};
