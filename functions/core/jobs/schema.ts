import * as z from '../schemas/zod.ts';
import { NotAJobEventError } from './errors.ts';

/**
 * The `CodePipeline.job` event a Lambda Invoke action receives. Our own schema: `@types/aws-lambda` makes
 * UserParameters required, lacks `artifactCredentials.expirationTime` and `pipelineContext`, and Powertools has
 * no schema for this event. Unknown fields are tolerated (AWS adds fields over time).
 *
 * Never log this event or the parsed job: `data.artifactCredentials` are live AWS keys. The parsed job keeps them
 * in a {@link JobCredentials} whose JSON and inspect forms are redacted.
 */
const NonEmpty = z.string().check(z.minLength(1));

const S3Location = z.object({ bucketName: NonEmpty, objectKey: NonEmpty });

const Artifact = z.object({
  name: NonEmpty,
  revision: z.nullish(z.string()),
  location: z.object({ type: z.string(), s3Location: z.optional(S3Location) }),
});

const Credentials = z.object({
  accessKeyId: NonEmpty,
  secretAccessKey: NonEmpty,
  sessionToken: z.optional(NonEmpty),
  // Epoch milliseconds in the Lambda event; absent from the API model.
  expirationTime: z.optional(z.number()),
});

const PipelineContext = z.optional(
  z.object({
    pipelineName: z.optional(z.string()),
    pipelineExecutionId: z.optional(z.string()),
    stage: z.optional(z.object({ name: z.optional(z.string()) })),
    action: z.optional(z.object({ name: z.optional(z.string()), actionExecutionId: z.optional(z.string()) })),
  }),
);

export const CodePipelineJobEvent = z.object({
  'CodePipeline.job': z.object({
    id: NonEmpty,
    accountId: z.optional(z.string()),
    data: z.object({
      actionConfiguration: z._default(
        z.optional(z.object({ configuration: z.optional(z.record(z.string(), z.string())) })),
        {},
      ),
      inputArtifacts: z.nullish(z.array(Artifact)),
      outputArtifacts: z.nullish(z.array(Artifact)),
      artifactCredentials: z.optional(Credentials),
      continuationToken: z.optional(NonEmpty),
      encryptionKey: z.optional(z.object({ id: z.string(), type: z.string() })),
      pipelineContext: PipelineContext,
    }),
  }),
});

/** Just enough to report a failure when the rest of the event is malformed. */
const JobIdOnly = z.object({ 'CodePipeline.job': z.object({ id: NonEmpty }) });

export type ArtifactLocation = { name: string; revision?: string; bucket?: string; key?: string };

/** The job's artifact credentials. Redacted in JSON, `util.inspect` and string form so a stray log cannot leak them. */
export class JobCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string | undefined;
  readonly expiresAt: Date | undefined;
  constructor(c: z.infer<typeof Credentials>) {
    this.accessKeyId = c.accessKeyId;
    this.secretAccessKey = c.secretAccessKey;
    this.sessionToken = c.sessionToken;
    this.expiresAt = c.expirationTime === undefined ? undefined : new Date(c.expirationTime);
    Object.defineProperties(this, {
      secretAccessKey: { enumerable: false },
      sessionToken: { enumerable: false },
    });
  }
  toJSON(): string {
    return '[redacted]';
  }
  toString(): string {
    return '[redacted]';
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'JobCredentials [redacted]';
  }
}

export type Job = {
  id: string;
  accountId?: string;
  userParameters?: string;
  continuationToken?: string;
  inputArtifacts: ArtifactLocation[];
  credentials?: JobCredentials;
  pipelineName?: string;
  pipelineExecutionId?: string;
};

const issuesOf = (error: z.core.$ZodError): string[] =>
  error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);

export type ParsedJobEvent = { ok: true; job: Job } | { ok: false; jobId: string; issues: string[] };

/**
 * Parses the event. A missing or unreadable job id throws {@link NotAJobEventError}; any other problem returns
 * the job id with the issues, so the runner can still end the job with a ConfigurationError.
 * Issue texts name paths only, never values (values may be credentials).
 */
export const parseJobEvent = (event: unknown): ParsedJobEvent => {
  const full = CodePipelineJobEvent.safeParse(event);
  if (full.success) {
    const j = full.data['CodePipeline.job'];
    const ctx = j.data.pipelineContext;
    return {
      ok: true,
      job: {
        id: j.id,
        accountId: j.accountId,
        userParameters: j.data.actionConfiguration.configuration?.UserParameters,
        continuationToken: j.data.continuationToken,
        inputArtifacts: (j.data.inputArtifacts ?? []).map((a) => ({
          name: a.name,
          revision: a.revision ?? undefined,
          bucket: a.location.s3Location?.bucketName,
          key: a.location.s3Location?.objectKey,
        })),
        credentials: j.data.artifactCredentials ? new JobCredentials(j.data.artifactCredentials) : undefined,
        pipelineName: ctx?.pipelineName,
        pipelineExecutionId: ctx?.pipelineExecutionId,
      },
    };
  }
  const idOnly = JobIdOnly.safeParse(event);
  if (!idOnly.success) throw new NotAJobEventError(issuesOf(idOnly.error));
  return { ok: false, jobId: idOnly.data['CodePipeline.job'].id, issues: issuesOf(full.error) };
};

/** An event with no readable job id: nothing can be reported to CodePipeline, and a retry cannot help. */
export type NotAJob = { ok: false; notAJob: true; issues: string[] };

/** What InvokeActionFunction's handler takes: the parsed job, a malformed job with its id, or no job at all. */
export type JobInput = ParsedJobEvent | NotAJob;

/**
 * The boundary parse of InvokeActionFunction. It never throws: a malformed job still has to be ended in
 * CodePipeline (with a ConfigurationError), and an event without a job id is logged and skipped by the handler.
 */
export const parseJobInput = (raw: unknown): JobInput => {
  try {
    return parseJobEvent(raw);
  } catch (err) {
    if (err instanceof NotAJobEventError) return { ok: false, notAJob: true, issues: [...err.issues] };
    throw err;
  }
};
