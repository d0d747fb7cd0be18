/**
 * Invoke/Lambda: invokes `FunctionName` asynchronously with a `CodePipeline.job` event and waits for
 * PutJobSuccessResult/PutJobFailureResult. A success with a continuation token re-invokes the function with a
 * new job id carrying that token, as CodePipeline does.
 */
import { randomBytes } from 'node:crypto';
import type { JobRecord } from '../model.ts';
import type { Provider, ProviderContext, Waiting } from './provider.ts';

/** CodePipeline fails a Lambda action whose function sends no reply within 20 minutes (each continuation restarts
 * that timer), and any Lambda action still running after 24 hours. */
const REPLY_TIMEOUT_MS = 20 * 60_000;
const ACTION_TIMEOUT_MS = 24 * 60 * 60_000;

/**
 * How long after a continuation the function is invoked again. AWS does not document its cadence; re-invoking at
 * once would let a task that hands back without waiting spin (it did: a closed gate ran ~70 invocations/s).
 * Default 1 s; STAGECREW_CONTINUATION_DELAY_MS changes it (0 = at once).
 */
export const continuationDelayMs = (env: NodeJS.ProcessEnv = process.env): number => {
  const raw = env.STAGECREW_CONTINUATION_DELAY_MS;
  if (raw === undefined || raw === '') return 1_000;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > 3_600_000) {
    throw new Error(`STAGECREW_CONTINUATION_DELAY_MS must be 0 to 3600000 milliseconds, got ${raw}`);
  }
  return n;
};

function artifact(a: ProviderContext['run']['inputArtifacts'][number]) {
  return {
    name: a.name,
    ...(a.revisionId ? { revision: a.revisionId } : { revision: null }),
    location: { type: 'S3', s3Location: { bucketName: a.s3location.bucket, objectKey: a.s3location.key } },
  };
}

export function jobData(p: ProviderContext, continuationToken?: string): Record<string, unknown> {
  const config = p.run.resolvedConfiguration;
  return {
    actionConfiguration: {
      configuration: {
        FunctionName: config.FunctionName,
        ...(config.UserParameters !== undefined ? { UserParameters: config.UserParameters } : {}),
      },
    },
    inputArtifacts: p.run.inputArtifacts.map(artifact),
    outputArtifacts: p.run.outputArtifacts.map(artifact),
    // Local, short-lived placeholders with AWS's shape: the local S3 accepts any credentials.
    artifactCredentials: {
      accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(60).toString('base64'),
      expirationTime: p.now() + REPLY_TIMEOUT_MS,
    },
    ...(continuationToken !== undefined ? { continuationToken } : {}),
  };
}

async function invoke(
  p: ProviderContext,
  continuationToken?: string,
): Promise<Waiting | { status: 'Failed'; code: string; message: string }> {
  const functionName = p.run.resolvedConfiguration.FunctionName;
  if (!functionName)
    return {
      status: 'Failed',
      code: 'ConfigurationError',
      message: 'FunctionName is required for Invoke/Lambda actions',
    };
  const job: JobRecord = p.createJob(jobData(p, continuationToken));
  try {
    await p.ctx.invoke(
      functionName,
      { 'CodePipeline.job': { id: job.jobId, accountId: p.ctx.accountId, data: job.data } },
      'Event',
      continuationToken !== undefined ? { delayMs: continuationDelayMs() } : {},
    );
  } catch (err) {
    return {
      status: 'Failed',
      code: 'JobFailed',
      message: `Could not invoke ${functionName}: ${(err as Error).message}`,
    };
  }
  p.log(
    `[invoke] ${functionName} invoked with job ${job.jobId}${continuationToken !== undefined ? ' (continuation)' : ''}`,
  );
  const deadline = Math.min(p.now() + REPLY_TIMEOUT_MS, p.run.startTime + ACTION_TIMEOUT_MS);
  return { status: 'Waiting', patch: { jobId: job.jobId, deadline } };
}

export const lambdaProvider: Provider = {
  run: (p) => invoke(p),
  continue: (p, _previous, continuationToken) => invoke(p, continuationToken),
};
