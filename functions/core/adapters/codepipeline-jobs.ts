import {
  type CodePipelineClient,
  PutJobFailureResultCommand,
  PutJobSuccessResultCommand,
} from '@aws-sdk/client-codepipeline';
import { awsErrorName, toDomainError, ValidationError } from '../errors.ts';
import { LIMITS, truncate } from '../jobs/limits.ts';
import type { JobReport, JobReporter, ReportOutcome } from '../jobs/ports.ts';

/**
 * Ends (or continues) CodePipeline jobs: PutJobSuccessResult / PutJobFailureResult. Lengths are cut to the API's
 * limits here too, so no caller can produce a ValidationException by accident.
 *
 * InvalidJobStateException means the job is no longer waiting for a result: a retry of a job already reported
 * (or one that timed out). JobNotFoundException means the same for a job CodePipeline has already dropped.
 * Both count as done: there is nothing left to report to.
 */
export class CodePipelineJobReporter implements JobReporter {
  readonly #client: CodePipelineClient;

  constructor(client: CodePipelineClient) {
    this.#client = client;
  }

  async report(report: JobReport): Promise<ReportOutcome> {
    try {
      if (report.kind === 'failure') {
        await this.#client.send(
          new PutJobFailureResultCommand({
            jobId: report.jobId,
            failureDetails: {
              type: report.type,
              message: truncate(report.message, LIMITS.failureMessage),
              externalExecutionId: truncate(report.externalExecutionId, LIMITS.externalExecutionId),
            },
          }),
        );
      } else {
        await this.#client.send(
          new PutJobSuccessResultCommand({
            jobId: report.jobId,
            executionDetails: {
              summary: truncate(report.summary, LIMITS.summary),
              externalExecutionId: truncate(report.externalExecutionId, LIMITS.externalExecutionId),
              ...(report.kind === 'continuation'
                ? { percentComplete: report.percentComplete }
                : { percentComplete: 100 }),
            },
            ...(report.kind === 'continuation'
              ? { continuationToken: report.continuationToken }
              : report.outputVariables
                ? { outputVariables: report.outputVariables }
                : {}),
          }),
        );
      }
      return 'reported';
    } catch (err) {
      const name = awsErrorName(err);
      if (name === 'InvalidJobStateException' || name === 'JobNotFoundException') return 'already-reported';
      if (name === 'OutputVariablesSizeExceededException' || name === 'ValidationException') {
        throw new ValidationError(`${putName(report)} ${report.jobId}: ${name}: ${(err as Error).message}`, [], {
          cause: err,
        });
      }
      throw toDomainError(err, `${putName(report)} ${report.jobId}`);
    }
  }
}

const putName = (r: JobReport) => (r.kind === 'failure' ? 'PutJobFailureResult' : 'PutJobSuccessResult');
