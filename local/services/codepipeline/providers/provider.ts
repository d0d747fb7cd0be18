/** The contract between the execution engine and an action provider. */
import type { LocalContext } from '../../types.ts';
import type { ActionDeclaration, ActionRun, ExecutionRecord, JobRecord } from '../model.ts';

export type ActionResult =
  | {
      status: 'Succeeded';
      summary?: string;
      externalExecutionId?: string;
      externalExecutionUrl?: string;
      outputVariables?: Record<string, string>;
      /** Bytes of output artifacts by name; the engine stores them at the locations in `run.outputArtifacts`. */
      outputs?: Record<string, Uint8Array>;
      /** Source actions: the revision this execution used. */
      revision?: {
        revisionId: string;
        revisionSummary: string;
        revisionUrl?: string /** ISO 8601 */;
        created?: string;
      };
    }
  | { status: 'Failed'; code: string; message: string; externalExecutionId?: string; externalExecutionUrl?: string };

/** The action now waits for an API call (PutApprovalResult, PutJob*Result); `patch` is merged into the run. */
export type Waiting = { status: 'Waiting'; patch: Partial<ActionRun> };

export type EnvironmentOptions = {
  /** Scratch space for builds and extracted artifacts. */
  workDir: string;
  /** Root directory that local deploy targets (CodeDeploy, S3 extract) write into. */
  deployDir: string;
  /** Maps a Source action's configuration to a local git repository or directory (undefined: not configured). */
  resolveSource(provider: string, configuration: Record<string, string>): string | undefined;
};

export type ProviderContext = {
  ctx: LocalContext;
  exec: ExecutionRecord;
  stageName: string;
  action: ActionDeclaration;
  run: ActionRun;
  env: EnvironmentOptions;
  /** Bytes of an input artifact (the first one when no name is given). */
  readInput(name?: string): Promise<Uint8Array>;
  /** Appends to the action's log (kept in the store, shown as the failure tail). */
  log(line: string): void;
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Aborted when the execution is stopped with abandon or the pipeline is deleted. */
  signal: AbortSignal;
  /** Registers a job (Invoke actions) that PutJobSuccessResult/PutJobFailureResult will address. */
  createJob(data: Record<string, unknown>): JobRecord;
};

export type Provider = {
  run(p: ProviderContext): Promise<ActionResult | Waiting>;
  /** Invoke actions: a job succeeded with a continuation token; start the next job of the same action. */
  continue?(p: ProviderContext, previous: JobRecord, continuationToken: string): Promise<ActionResult | Waiting>;
};

export const failed = (code: string, message: string): ActionResult => ({
  status: 'Failed',
  code,
  message: message.slice(0, 5000),
});
