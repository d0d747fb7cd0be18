/**
 * What makes a CloudFormation stack Stagecrew-owned: the tags `register-test-stack` sets and the teardown
 * record it writes. The teardown workflow and the sweeper recognize stacks by exactly these; change them together.
 */
export const OWNERSHIP_TAGS = Object.freeze({
  managed: 'stagecrew:managed',
  pipeline: 'stagecrew:pipeline',
  executionId: 'stagecrew:execution-id',
  expiresAt: 'stagecrew:expires-at',
});

export const ownershipTags = (o: {
  pipeline: string;
  executionId: string;
  expiresAt?: string;
}): Record<string, string> => ({
  [OWNERSHIP_TAGS.managed]: 'true',
  [OWNERSHIP_TAGS.pipeline]: o.pipeline,
  [OWNERSHIP_TAGS.executionId]: o.executionId,
  ...(o.expiresAt ? { [OWNERSHIP_TAGS.expiresAt]: o.expiresAt } : {}),
});

/** Keys of the teardown record in the state table. */
export const teardownRecordKey = (pipeline: string, executionId: string, stackId: string) => ({
  pk: `TEARDOWN#${pipeline}#${executionId}`,
  sk: `STACK#${stackId}`,
});

export const TEARDOWN_RECORD_TYPE = 'teardown-registration';

/** Teardown records outlive the stack's expiry by this long, then DynamoDB TTL removes them. */
export const TEARDOWN_RECORD_RETENTION_SECONDS = 30 * 24 * 60 * 60;
/** Without an expiry, a record is kept this long from registration before its retention starts. */
export const TEARDOWN_DEFAULT_HORIZON_SECONDS = 24 * 60 * 60;
