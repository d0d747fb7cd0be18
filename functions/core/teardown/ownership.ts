import { OWNERSHIP_TAGS } from '../jobs/ownership.ts';
import { globMatch } from '../settings.ts';
import type { TeardownStack } from './ports.ts';

export { OWNERSHIP_TAGS };

export type Owner = { pipeline: string; executionId: string; reason: string };
export type AllowRule = { pipeline: string; stackName: string };

export type Ownership = { owned: true; by: 'tags' | 'rule' } | { owned: false; why: string };

/**
 * Is this stack Stagecrew's to delete for this pipeline execution? Checked on a fresh DescribeStacks by StackId
 * immediately before DeleteStack. Owned when:
 * - its tags say `stagecrew:managed=true` with this pipeline and this execution id; or
 * - it carries no Stagecrew execution tag at all and its name matches an allow rule of this pipeline
 *   (`{executionId}` in the rule is replaced by the execution id).
 * Never owned: a stack tagged for another execution or pipeline (name reuse, H1), a nested stack (its root
 * deletes it, H12), a stack whose id is not the one discovered, and, on SUPERSEDED, a stack whose name does not
 * carry the execution id (a shared name is the superseding execution's stack now, H2).
 */
export const checkOwnership = (
  stack: TeardownStack,
  expectedStackId: string,
  owner: Owner,
  rules: readonly AllowRule[],
): Ownership => {
  if (stack.stackId !== expectedStackId) {
    return { owned: false, why: `stack id ${stack.stackId} is not the discovered ${expectedStackId}` };
  }
  if (stack.parentId) return { owned: false, why: `nested stack of ${stack.parentId}; only a root stack is deleted` };
  if (owner.reason === 'SUPERSEDED' && !stack.stackName.includes(owner.executionId)) {
    return { owned: false, why: 'stack name is shared between executions; the superseding execution uses it now' };
  }
  const tags = stack.tags;
  const taggedExecution = tags[OWNERSHIP_TAGS.executionId];
  const taggedPipeline = tags[OWNERSHIP_TAGS.pipeline];
  if (tags[OWNERSHIP_TAGS.managed] === 'true' && taggedExecution !== undefined) {
    if (taggedPipeline !== owner.pipeline) {
      return { owned: false, why: `tagged for pipeline ${taggedPipeline ?? '(none)'}, not ${owner.pipeline}` };
    }
    if (taggedExecution !== owner.executionId) {
      return { owned: false, why: `tagged for execution ${taggedExecution}, not ${owner.executionId}` };
    }
    return { owned: true, by: 'tags' };
  }
  if (taggedExecution !== undefined || taggedPipeline !== undefined) {
    return { owned: false, why: `partial Stagecrew tags without ${OWNERSHIP_TAGS.managed}=true` };
  }
  const rule = rules.find(
    (r) =>
      globMatch(r.pipeline, owner.pipeline) &&
      globMatch(r.stackName.replaceAll('{executionId}', owner.executionId), stack.stackName),
  );
  if (rule) return { owned: true, by: 'rule' };
  return { owned: false, why: `no ${OWNERSHIP_TAGS.managed}=true tag and no allow rule matches ${stack.stackName}` };
};
