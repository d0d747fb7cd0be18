/**
 * Stacks for teardown tests on the local cloud: wait for a stack's status, and register a stack for an execution's
 * teardown the way Stagecrew's `register-test-stack` task records it in the state table.
 */
import { type CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { OWNERSHIP_TAGS } from '#core/jobs/ownership';
import { waitFor } from './local-cloud.ts';

/** Waits until the stack (a name or StackId) reaches `status`. */
export const waitForStackStatus = (cfn: CloudFormationClient, stack: string, status: string, timeoutMs: number) =>
  waitFor(async () => {
    const d = (await cfn.send(new DescribeStacksCommand({ StackName: stack }))).Stacks?.[0];
    return d?.StackStatus === status;
  }, timeoutMs);

/** Writes the teardown registration of one stack for `pipeline`'s execution `executionId`. */
export const registerStackForTeardown = (
  db: DynamoDBDocumentClient,
  table: string,
  r: { pipeline: string; executionId: string; stackId: string; stackName: string },
) =>
  db.send(
    new PutCommand({
      TableName: table,
      Item: {
        pk: `TEARDOWN#${r.pipeline}#${r.executionId}`,
        sk: `STACK#${r.stackId}`,
        type: 'teardown-registration',
        pipeline: r.pipeline,
        executionId: r.executionId,
        stackId: r.stackId,
        stackName: r.stackName,
        registeredAt: new Date().toISOString(),
      },
    }),
  );

/** The CloudFormation tags that mark a stack as one execution's temporary test stack (Stagecrew's ownership tags). */
export const ownershipTags = (pipeline: string, executionId: string): Array<{ Key: string; Value: string }> => [
  { Key: OWNERSHIP_TAGS.managed, Value: 'true' },
  { Key: OWNERSHIP_TAGS.pipeline, Value: pipeline },
  { Key: OWNERSHIP_TAGS.executionId, Value: executionId },
];
