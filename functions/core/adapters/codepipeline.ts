import {
  type ActionExecutionDetail,
  type CodePipelineClient,
  GetPipelineCommand,
  GetPipelineExecutionCommand,
  GetPipelineStateCommand,
  ListActionExecutionsCommand,
  PutApprovalResultCommand,
} from '@aws-sdk/client-codepipeline';
import { ApprovalAlreadyCompletedError, InvalidApprovalTokenError } from '../approvals/errors.ts';
import { NotFoundError, toDomainError, ValidationError } from '../errors.ts';
import type {
  ActionExecutionInfo,
  ApprovalResult,
  PipelineExecutionInfo,
  PipelineGateway,
  PipelineStateInfo,
} from '../ports.ts';
import { truncate } from '../text.ts';

/** PutApprovalResult's summary is limited to 512 characters. */
export const APPROVAL_SUMMARY_MAX = 512;

const translate = (err: unknown, what: string): Error => {
  const name = typeof err === 'object' && err !== null && 'name' in err ? String(err.name) : '';
  switch (name) {
    case 'ApprovalAlreadyCompletedException':
      return new ApprovalAlreadyCompletedError(`${what}: approval already completed`, { cause: err });
    case 'InvalidApprovalTokenException':
      return new InvalidApprovalTokenError(`${what}: approval token is not valid`, { cause: err });
    case 'PipelineNotFoundException':
    case 'PipelineExecutionNotFoundException':
    case 'StageNotFoundException':
    case 'ActionNotFoundException':
      return new NotFoundError(`${what}: ${name.replace(/Exception$/, '')}`, { cause: err });
    case 'ValidationException':
      return new ValidationError(`${what}: ${(err as Error).message}`, [], { cause: err });
    default:
      return toDomainError(err, what);
  }
};

const toActionExecution = (d: ActionExecutionDetail): ActionExecutionInfo => ({
  pipelineExecutionId: d.pipelineExecutionId ?? '',
  actionExecutionId: d.actionExecutionId ?? '',
  stageName: d.stageName ?? '',
  actionName: d.actionName ?? '',
  status: d.status ?? 'Unknown',
  startTime: d.startTime,
  lastUpdateTime: d.lastUpdateTime,
  category: d.input?.actionTypeId?.category,
  provider: d.input?.actionTypeId?.provider,
  configuration: { ...(d.input?.configuration ?? {}), ...(d.input?.resolvedConfiguration ?? {}) },
  ...(d.input?.roleArn ? { roleArn: d.input.roleArn } : {}),
  ...(d.input?.region ? { region: d.input.region } : {}),
  externalExecutionId: d.output?.executionResult?.externalExecutionId,
  externalExecutionUrl: d.output?.executionResult?.externalExecutionUrl,
  externalExecutionSummary: d.output?.executionResult?.externalExecutionSummary,
  errorDetails: d.output?.executionResult?.errorDetails,
  outputVariables: d.output?.outputVariables,
});

/** CodePipeline reads and approval decisions. Retries and timeouts come from the client's settings. */
export class CodePipelineGateway implements PipelineGateway {
  readonly #client: CodePipelineClient;

  constructor(client: CodePipelineClient) {
    this.#client = client;
  }

  async getActionConfiguration(
    pipelineName: string,
    stageName: string,
    actionName: string,
  ): Promise<Record<string, string> | undefined> {
    try {
      const out = await this.#client.send(new GetPipelineCommand({ name: pipelineName }));
      const stage = out.pipeline?.stages?.find((s) => s.name === stageName);
      const action = stage?.actions?.find((a) => a.name === actionName);
      return action ? { ...(action.configuration ?? {}) } : undefined;
    } catch (err) {
      throw translate(err, `GetPipeline ${pipelineName}`);
    }
  }

  async getPipelineState(pipelineName: string): Promise<PipelineStateInfo> {
    try {
      const out = await this.#client.send(new GetPipelineStateCommand({ name: pipelineName }));
      return {
        pipelineName: out.pipelineName ?? pipelineName,
        pipelineVersion: out.pipelineVersion,
        stages: (out.stageStates ?? []).map((s) => ({
          stageName: s.stageName ?? '',
          latestExecution: s.latestExecution
            ? {
                pipelineExecutionId: s.latestExecution.pipelineExecutionId ?? '',
                status: s.latestExecution.status ?? '',
              }
            : undefined,
          actions: (s.actionStates ?? []).map((a) => ({
            stageName: s.stageName ?? '',
            actionName: a.actionName ?? '',
            status: a.latestExecution?.status,
            token: a.latestExecution?.token,
            pipelineExecutionId: a.latestExecution?.actionExecutionId
              ? s.latestExecution?.pipelineExecutionId
              : undefined,
            lastStatusChange: a.latestExecution?.lastStatusChange,
            externalExecutionId: a.latestExecution?.externalExecutionId,
            summary: a.latestExecution?.summary,
            errorDetails: a.latestExecution?.errorDetails,
          })),
        })),
      };
    } catch (err) {
      throw translate(err, `GetPipelineState ${pipelineName}`);
    }
  }

  async getPipelineExecution(pipelineName: string, executionId: string): Promise<PipelineExecutionInfo> {
    try {
      const out = await this.#client.send(
        new GetPipelineExecutionCommand({ pipelineName, pipelineExecutionId: executionId }),
      );
      const e = out.pipelineExecution;
      return {
        pipelineName,
        pipelineExecutionId: executionId,
        status: e?.status ?? 'Unknown',
        statusSummary: e?.statusSummary,
        executionMode: e?.executionMode,
        trigger: e?.trigger,
        sourceRevisions: (e?.artifactRevisions ?? []).map((r) => ({
          actionName: r.name ?? '',
          revisionId: r.revisionId,
          revisionSummary: r.revisionSummary,
          revisionUrl: r.revisionUrl,
          ...(r.created ? { created: r.created.toISOString() } : {}),
        })),
      };
    } catch (err) {
      throw translate(err, `GetPipelineExecution ${pipelineName}/${executionId}`);
    }
  }

  async listActionExecutions(pipelineName: string, executionId: string): Promise<ActionExecutionInfo[]> {
    const all: ActionExecutionInfo[] = [];
    let nextToken: string | undefined;
    try {
      do {
        const out = await this.#client.send(
          new ListActionExecutionsCommand({
            pipelineName,
            filter: { pipelineExecutionId: executionId },
            maxResults: 100,
            ...(nextToken ? { nextToken } : {}),
          }),
        );
        all.push(...(out.actionExecutionDetails ?? []).map(toActionExecution));
        nextToken = out.nextToken;
      } while (nextToken);
      return all;
    } catch (err) {
      throw translate(err, `ListActionExecutions ${pipelineName}/${executionId}`);
    }
  }

  async listRecentActionExecutions(pipelineName: string): Promise<ActionExecutionInfo[]> {
    try {
      const out = await this.#client.send(new ListActionExecutionsCommand({ pipelineName, maxResults: 100 }));
      return (out.actionExecutionDetails ?? []).map(toActionExecution);
    } catch (err) {
      throw translate(err, `ListActionExecutions ${pipelineName}`);
    }
  }

  async putApprovalResult(input: {
    pipelineName: string;
    stageName: string;
    actionName: string;
    token: string;
    result: ApprovalResult;
  }): Promise<{ approvedAt?: Date }> {
    try {
      const out = await this.#client.send(
        new PutApprovalResultCommand({
          pipelineName: input.pipelineName,
          stageName: input.stageName,
          actionName: input.actionName,
          token: input.token,
          result: { status: input.result.status, summary: truncate(input.result.summary, APPROVAL_SUMMARY_MAX) },
        }),
      );
      return { approvedAt: out.approvedAt };
    } catch (err) {
      throw translate(err, `PutApprovalResult ${input.pipelineName}/${input.stageName}/${input.actionName}`);
    }
  }
}

/** Truncates to `max` characters, marking the cut with an ellipsis. */
