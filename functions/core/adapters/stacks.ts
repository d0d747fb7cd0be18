import {
  type CloudFormationClient,
  DescribeStacksCommand,
  type Stack,
  UpdateStackCommand,
} from '@aws-sdk/client-cloudformation';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { awsErrorName, ConflictError, toDomainError } from '../errors.ts';
import { JobFailedError } from '../jobs/errors.ts';
import {
  TEARDOWN_DEFAULT_HORIZON_SECONDS,
  TEARDOWN_RECORD_RETENTION_SECONDS,
  TEARDOWN_RECORD_TYPE,
  teardownRecordKey,
} from '../jobs/ownership.ts';
import type { StackInfo, StackPort, TeardownRegistration, TeardownRegistry } from '../jobs/ports.ts';

/** The stack is being changed by someone else; try again when it settles. */
export class StackBusyError extends ConflictError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StackBusyError';
  }
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

const toStackInfo = (s: Stack): StackInfo => ({
  stackId: s.StackId ?? '',
  stackName: s.StackName ?? '',
  status: s.StackStatus ?? 'UNKNOWN',
  ...(s.StackStatusReason ? { statusReason: s.StackStatusReason } : {}),
  outputs: Object.fromEntries(
    (s.Outputs ?? []).flatMap((o) => (o.OutputKey ? [[o.OutputKey, o.OutputValue ?? '']] : [])),
  ),
  tags: Object.fromEntries((s.Tags ?? []).flatMap((t) => (t.Key ? [[t.Key, t.Value ?? '']] : []))),
  parameterKeys: (s.Parameters ?? []).flatMap((p) => (p.ParameterKey ? [p.ParameterKey] : [])),
  capabilities: [...(s.Capabilities ?? [])],
});

/**
 * CloudFormation for Invoke action tasks: describe a stack and tag it in place. Errors: a missing stack is
 * `undefined` (CloudFormation reports it as a ValidationError "does not exist"); access denied → PermissionError;
 * throttling/5xx after the SDK's retries → UnavailableError.
 */
export class CloudFormationStacks implements StackPort {
  readonly #client: CloudFormationClient;

  constructor(client: CloudFormationClient) {
    this.#client = client;
  }

  async describe(nameOrId: string): Promise<StackInfo | undefined> {
    try {
      const out = await this.#client.send(new DescribeStacksCommand({ StackName: nameOrId }));
      const stack = out.Stacks?.[0];
      return stack ? toStackInfo(stack) : undefined;
    } catch (err) {
      if (awsErrorName(err) === 'ValidationError' && /does not exist/i.test(message(err))) return undefined;
      throw toDomainError(err, `DescribeStacks ${nameOrId}`);
    }
  }

  /**
   * UpdateStack with the previous template and every parameter's previous value, the stack's capabilities, and
   * its tags merged with `tags` (the Tags parameter replaces the whole set, so the old ones must be passed back).
   * CloudFormation propagates stack tags to the resources that support them.
   */
  async updateTags(stack: StackInfo, tags: Record<string, string>): Promise<'updating' | 'unchanged'> {
    const merged = { ...stack.tags, ...tags };
    try {
      await this.#client.send(
        new UpdateStackCommand({
          StackName: stack.stackId,
          UsePreviousTemplate: true,
          Parameters: stack.parameterKeys.map((ParameterKey) => ({ ParameterKey, UsePreviousValue: true })),
          ...(stack.capabilities.length > 0
            ? { Capabilities: stack.capabilities as UpdateStackCommand['input']['Capabilities'] }
            : {}),
          Tags: Object.entries(merged).map(([Key, Value]) => ({ Key, Value })),
        }),
      );
      return 'updating';
    } catch (err) {
      const name = awsErrorName(err);
      const text = message(err);
      if (name === 'ValidationError' && /No updates are to be performed/i.test(text)) return 'unchanged';
      if (name === 'ValidationError' && /state and can ?not be updated/i.test(text)) {
        throw new StackBusyError(`UpdateStack ${stack.stackName}: ${text}`, { cause: err });
      }
      if (name === 'InsufficientCapabilitiesException' || name === 'ValidationError') {
        throw new JobFailedError(`tagging stack ${stack.stackName}: ${text}`, { cause: err });
      }
      throw toDomainError(err, `UpdateStack ${stack.stackName}`);
    }
  }
}

/**
 * Teardown records in the state table. A plain put: registering the same stack again for the same execution
 * overwrites the record with the same content, so a retried job is harmless.
 */
export class DynamoTeardownRegistry implements TeardownRegistry {
  readonly #doc: DynamoDBDocumentClient;
  readonly #tableName: string;

  constructor(doc: DynamoDBDocumentClient, tableName: string) {
    this.#doc = doc;
    this.#tableName = tableName;
  }

  async register(r: TeardownRegistration): Promise<void> {
    const registeredSeconds = Math.floor(Date.parse(r.registeredAt) / 1000);
    const expirySeconds = r.expiresAt
      ? Math.floor(Date.parse(r.expiresAt) / 1000)
      : registeredSeconds + TEARDOWN_DEFAULT_HORIZON_SECONDS;
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#tableName,
          Item: {
            ...teardownRecordKey(r.pipeline, r.executionId, r.stackId),
            type: TEARDOWN_RECORD_TYPE,
            stackName: r.stackName,
            stackId: r.stackId,
            pipeline: r.pipeline,
            executionId: r.executionId,
            expiresAt: r.expiresAt,
            registeredAt: r.registeredAt,
            jobId: r.jobId,
            ttl: Math.max(expirySeconds, registeredSeconds) + TEARDOWN_RECORD_RETENTION_SECONDS,
          },
        }),
      );
    } catch (err) {
      throw toDomainError(err, `registering teardown of ${r.stackName}`);
    }
  }
}
