import type { FailureType } from './errors.ts';
import type { Job } from './schema.ts';

/**
 * Ports of the job runner. Adapters in functions/core/adapters implement them (codepipeline-jobs, artifacts,
 * stacks); tests and the benchmark pass in-memory fakes.
 */

/** What ends (or continues) a job: exactly one of these is sent per job id. */
export type JobReport =
  | {
      kind: 'success';
      jobId: string;
      summary: string;
      externalExecutionId: string;
      outputVariables?: Record<string, string>;
    }
  | {
      kind: 'continuation';
      jobId: string;
      summary: string;
      externalExecutionId: string;
      continuationToken: string;
      percentComplete: number;
    }
  | { kind: 'failure'; jobId: string; type: FailureType; message: string; externalExecutionId: string };

/** `already-reported`: CodePipeline answered InvalidJobStateException (a retry of a job we already ended). */
export type ReportOutcome = 'reported' | 'already-reported';

export type JobReporter = { report(report: JobReport): Promise<ReportOutcome> };

/** Reads files out of the job's input artifacts (zip files in S3, fetched with the job's own credentials). */
export type ArtifactReader = {
  /**
   * Text of `path` inside the input artifact `artifact` (or the only input artifact when omitted).
   * `field` names the option that asked for it, for the ConfigurationError when the file or artifact is missing.
   */
  readText(artifact: string | undefined, path: string, field: string): Promise<string>;
};

export type ArtifactSource = { open(job: Job): ArtifactReader };

export type StackInfo = {
  stackId: string;
  stackName: string;
  status: string;
  statusReason?: string;
  outputs: Record<string, string>;
  tags: Record<string, string>;
  /** Template parameter keys (UpdateStack passes them back with UsePreviousValue). */
  parameterKeys: string[];
  capabilities: string[];
};

export type StackPort = {
  /** `undefined` when no stack has that name or id (a deleted stack by name counts as missing). */
  describe(nameOrId: string): Promise<StackInfo | undefined>;
  /**
   * Sets `tags` (merged with the stack's own) with an UpdateStack that keeps the template and every parameter.
   * `unchanged`: CloudFormation answered "No updates are to be performed".
   */
  updateTags(stack: StackInfo, tags: Record<string, string>): Promise<'updating' | 'unchanged'>;
};

/** The record that hands a stack to the teardown workflow (pk `TEARDOWN#<pipeline>#<executionId>`). */
export type TeardownRegistration = {
  pipeline: string;
  executionId: string;
  stackName: string;
  stackId: string;
  /** ISO-8601; when set the sweeper may tear the stack down after this time even if the pipeline still runs. */
  expiresAt?: string;
  registeredAt: string;
  jobId: string;
};

export type TeardownRegistry = { register(registration: TeardownRegistration): Promise<void> };

export type Sleep = (ms: number) => Promise<void>;
export type HttpFetch = (input: string, init?: RequestInit) => Promise<Response>;
