import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EXECUTION, executionInput, newWorld, OTHER_EXECUTION, PIPELINE, runTeardown, stackArn } from './harness.ts';

const STATUSES = [
  'CREATE_COMPLETE',
  'CREATE_FAILED',
  'ROLLBACK_COMPLETE',
  'ROLLBACK_FAILED',
  'DELETE_FAILED',
  'DELETE_COMPLETE',
  'DELETE_IN_PROGRESS',
  'UPDATE_COMPLETE',
  'UPDATE_ROLLBACK_COMPLETE',
  'UPDATE_ROLLBACK_FAILED',
  'REVIEW_IN_PROGRESS',
  'IMPORT_COMPLETE',
  'UPDATE_IN_PROGRESS',
];
// Biased towards owned stacks so DeleteStack is reached often; every unowned variant still appears.
const tagValue = (values: string[]) => fc.option(fc.constantFrom(...values), { nil: undefined, freq: 8 });
const rarely = fc.integer({ min: 0, max: 9 }).map((n) => n === 0);

const arbStack = fc.record({
  suffix: fc.constantFrom('a', 'b', 'c', EXECUTION, OTHER_EXECUTION),
  status: fc.oneof(
    { arbitrary: fc.constantFrom('CREATE_COMPLETE', 'UPDATE_COMPLETE', 'ROLLBACK_COMPLETE'), weight: 3 },
    { arbitrary: fc.constantFrom(...STATUSES), weight: 2 },
  ),
  managed: tagValue(['true', 'true', 'true', 'false', 'TRUE', '']),
  pipeline: tagValue([PIPELINE, PIPELINE, PIPELINE, 'other', 'app ']),
  executionId: tagValue([EXECUTION, EXECUTION, EXECUTION, OTHER_EXECUTION, EXECUTION.toUpperCase(), '']),
  protectedStack: rarely,
  nested: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
});

/** The oracle, written independently of the implementation: what Stagecrew may delete for this execution. */
type GenStack = typeof arbStack extends fc.Arbitrary<infer T> ? T : never;
const mayDelete = (s: GenStack, name: string, rule: string | undefined, reason: string) => {
  if (s.nested || s.protectedStack) return false;
  if (reason === 'SUPERSEDED' && !name.includes(EXECUTION)) return false;
  if (s.managed === 'true' && s.executionId !== undefined)
    return s.pipeline === PIPELINE && s.executionId === EXECUTION;
  if (s.executionId !== undefined || s.pipeline !== undefined) return false;
  return rule !== undefined && name === rule.replace('{executionId}', EXECUTION);
};

describe('ownership property (real ASL)', () => {
  it('never passes a stack without Stagecrew ownership for this execution to DeleteStack', async () => {
    let deleted = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(arbStack, { minLength: 1, maxLength: 4, selector: (s) => s.suffix }),
        fc.option(fc.constantFrom('test-{executionId}', 'test-a', 'prod-b'), { nil: undefined }),
        fc.constantFrom('FAILED', 'STOPPED', 'SUPERSEDED'),
        rarely,
        async (stacks, rule, reason, dryRun) => {
          const w = newWorld({
            allowRules: rule ? [{ pipeline: PIPELINE, stackName: rule }] : [],
            onDeleteFailed: 'force',
          });
          const byId = new Map<string, { s: (typeof stacks)[number]; name: string }>();
          for (const s of stacks) {
            const name = `test-${s.suffix}`;
            const tags: Record<string, string> = {};
            if (s.managed !== undefined) tags['stagecrew:managed'] = s.managed;
            if (s.pipeline !== undefined) tags['stagecrew:pipeline'] = s.pipeline;
            if (s.executionId !== undefined) tags['stagecrew:execution-id'] = s.executionId;
            w.cloud.add({
              stackName: name,
              status: s.status,
              tags,
              terminationProtection: s.protectedStack,
              ...(s.nested ? { parentId: stackArn('root') } : {}),
              afterDelete: [{ status: 'DELETE_FAILED' }, { status: 'DELETE_COMPLETE' }],
              resources: [
                {
                  logicalId: 'B',
                  physicalId: `${name}-b`,
                  type: 'AWS::S3::Bucket',
                  status: 'DELETE_FAILED',
                  reason: 'BucketNotEmpty',
                },
              ],
            });
            byId.set(stackArn(name), { s, name });
            w.store.regs.push({ pipeline: PIPELINE, executionId: EXECUTION, stackId: stackArn(name), stackName: name });
          }
          await runTeardown(w, executionInput({ reason, dryRun }));
          deleted += w.cloud.deletes.length;
          if (dryRun) expect(w.cloud.deletes).toEqual([]);
          for (const d of w.cloud.deletes) {
            const entry = byId.get(d.stackId);
            expect(entry, d.stackId).toBeDefined();
            if (entry)
              expect(mayDelete(entry.s, entry.name, rule, reason), `${entry.name} ${JSON.stringify(entry.s)}`).toBe(
                true,
              );
          }
          expect(w.store.outcomes).toHaveLength(stacks.length);
        },
      ),
      { numRuns: 150, seed: 20261123 },
    );
    // The property is only meaningful if DeleteStack is actually reached in many runs.
    expect(deleted).toBeGreaterThan(40);
    // 150 runs of the real ASL take ~4 s alone; a busy 2-core machine needs more than vitest's default 5 s.
  }, 30_000);
});
