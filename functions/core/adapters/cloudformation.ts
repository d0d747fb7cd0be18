import {
  type CloudFormationClient,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ListStackResourcesCommand,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import { awsErrorName, toDomainError, ValidationError } from '../errors.ts';
import type { DeleteRequest, StackEvent, StackResource, TeardownStack, TeardownStacks } from '../teardown/ports.ts';

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));
const iso = (d: Date | undefined) => (d ? d.toISOString() : undefined);

const toTeardownStack = (s: Stack, stackIdOrName: string): TeardownStack => ({
  stackId: s.StackId ?? stackIdOrName,
  stackName: s.StackName ?? '',
  status: s.StackStatus ?? 'UNKNOWN',
  ...(s.StackStatusReason ? { statusReason: s.StackStatusReason } : {}),
  tags: Object.fromEntries((s.Tags ?? []).flatMap((t) => (t.Key ? [[t.Key, t.Value ?? '']] : []))),
  terminationProtection: s.EnableTerminationProtection === true,
  ...(s.ParentId ? { parentId: s.ParentId } : {}),
  ...(s.CreationTime ? { creationTime: iso(s.CreationTime) } : {}),
  ...(s.RoleARN ? { roleArn: s.RoleARN } : {}),
});

/**
 * CloudFormation for the teardown workflow. Every call takes the StackId (a deleted stack keeps answering
 * DescribeStacks by id with DELETE_COMPLETE for 90 days). "Stack with id … does not exist" (a ValidationError)
 * means never created or long gone: `undefined`. Other ValidationErrors (termination protection, a force delete
 * outside DELETE_FAILED) become ValidationError; throttling after the SDK's retries, UnavailableError.
 */
export class CloudFormationTeardown implements TeardownStacks {
  readonly #client: CloudFormationClient;

  constructor(client: CloudFormationClient) {
    this.#client = client;
  }

  async describe(stackIdOrName: string): Promise<TeardownStack | undefined> {
    try {
      const out = await this.#client.send(new DescribeStacksCommand({ StackName: stackIdOrName }));
      const s = out.Stacks?.[0];
      return s ? toTeardownStack(s, stackIdOrName) : undefined;
    } catch (err) {
      if (awsErrorName(err) === 'ValidationError' && /does not exist/i.test(message(err))) return undefined;
      throw toDomainError(err, `DescribeStacks ${stackIdOrName}`);
    }
  }

  /** Every stack of the account and region with its tags (DescribeStacks without a name, pages followed). */
  async listAll(): Promise<TeardownStack[]> {
    const all: TeardownStack[] = [];
    let NextToken: string | undefined;
    try {
      do {
        const out = await this.#client.send(new DescribeStacksCommand(NextToken ? { NextToken } : {}));
        for (const s of out.Stacks ?? []) all.push(toTeardownStack(s, s.StackId ?? ''));
        NextToken = out.NextToken;
      } while (NextToken);
      return all;
    } catch (err) {
      throw toDomainError(err, 'DescribeStacks (all)');
    }
  }

  async delete(r: DeleteRequest): Promise<void> {
    try {
      await this.#client.send(
        new DeleteStackCommand({
          StackName: r.stackId,
          ClientRequestToken: r.clientRequestToken,
          ...(r.retainResources && r.retainResources.length > 0 ? { RetainResources: r.retainResources } : {}),
          ...(r.force ? { DeletionMode: 'FORCE_DELETE_STACK' } : {}),
          ...(r.roleArn ? { RoleARN: r.roleArn } : {}),
        }),
      );
    } catch (err) {
      // A retry with the same token is the documented idempotent case: the delete was already requested.
      if (awsErrorName(err) === 'TokenAlreadyExistsException') return;
      if (awsErrorName(err) === 'ValidationError') {
        throw new ValidationError(`DeleteStack ${r.stackId}: ${message(err)}`, [], { cause: err });
      }
      throw toDomainError(err, `DeleteStack ${r.stackId}`);
    }
  }

  async listResources(stackId: string): Promise<StackResource[]> {
    const all: StackResource[] = [];
    let NextToken: string | undefined;
    try {
      do {
        const out = await this.#client.send(
          new ListStackResourcesCommand({ StackName: stackId, ...(NextToken ? { NextToken } : {}) }),
        );
        for (const r of out.StackResourceSummaries ?? []) {
          all.push({
            logicalId: r.LogicalResourceId ?? '',
            type: r.ResourceType ?? '',
            status: r.ResourceStatus ?? '',
            ...(r.PhysicalResourceId ? { physicalId: r.PhysicalResourceId } : {}),
            ...(r.ResourceStatusReason ? { reason: r.ResourceStatusReason } : {}),
          });
        }
        NextToken = out.NextToken;
      } while (NextToken);
      return all;
    } catch (err) {
      throw toDomainError(err, `ListStackResources ${stackId}`);
    }
  }

  async recentEvents(stackId: string, limit: number): Promise<StackEvent[]> {
    const all: StackEvent[] = [];
    let NextToken: string | undefined;
    try {
      do {
        const out = await this.#client.send(
          new DescribeStackEventsCommand({ StackName: stackId, ...(NextToken ? { NextToken } : {}) }),
        );
        for (const e of out.StackEvents ?? []) {
          all.push({
            logicalId: e.LogicalResourceId ?? '',
            type: e.ResourceType ?? '',
            status: e.ResourceStatus ?? '',
            timestamp: iso(e.Timestamp) ?? '',
            ...(e.PhysicalResourceId ? { physicalId: e.PhysicalResourceId } : {}),
            ...(e.ResourceStatusReason ? { reason: e.ResourceStatusReason } : {}),
            ...(e.ClientRequestToken ? { clientRequestToken: e.ClientRequestToken } : {}),
          });
        }
        NextToken = out.NextToken;
      } while (NextToken && all.length < limit);
      return all.slice(0, limit);
    } catch (err) {
      throw toDomainError(err, `DescribeStackEvents ${stackId}`);
    }
  }
}
