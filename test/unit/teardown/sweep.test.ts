import { describe, expect, it } from 'vitest';
import { NotFoundError } from '#core/errors';
import { deployedStacks } from '#core/teardown/discover';
import type { TeardownStack } from '#core/teardown/ports';
import { SWEEP_BATCH, selectExpired, sweep, sweepRequests } from '#core/teardown/sweep';

const EXEC = '11111111-2222-3333-4444-555555555555';
const now = new Date('2026-01-02T12:00:00Z');
const stack = (name: string, over: Partial<TeardownStack> = {}, tags: Record<string, string> = {}): TeardownStack => ({
  stackId: `arn:aws:cloudformation:us-east-1:123456789012:stack/${name}/0a1b2c3d-0000-1111-2222-333344445555`,
  stackName: name,
  status: 'CREATE_COMPLETE',
  terminationProtection: false,
  creationTime: '2026-01-02T11:00:00Z',
  tags: { 'stagecrew:managed': 'true', 'stagecrew:pipeline': 'app', 'stagecrew:execution-id': EXEC, ...tags },
  ...over,
});

describe('selectExpired', () => {
  it('takes stacks past expires-at, and old stacks only when no execution still runs', async () => {
    const statuses: Record<string, string> = { live: 'InProgress' };
    const stacks = [
      stack('expired', {}, { 'stagecrew:expires-at': '2026-01-02T11:59:00Z' }),
      stack('young'),
      stack('old-dead', { creationTime: '2026-01-01T00:00:00Z' }),
      stack('old-live', { creationTime: '2026-01-01T00:00:00Z' }, { 'stagecrew:pipeline': 'live' }),
      stack('untagged', { creationTime: '2026-01-01T00:00:00Z', tags: {} }),
      stack('nested', { creationTime: '2026-01-01T00:00:00Z', parentId: 'arn:root' }),
      stack('gone', { creationTime: '2026-01-01T00:00:00Z', status: 'DELETE_COMPLETE' }),
    ];
    const picked = await selectExpired(stacks, { maxAgeHours: 24 }, now, {
      status: async (p) => {
        if (p === 'missing') throw new NotFoundError('no');
        return statuses[p] ?? 'Failed';
      },
    });
    expect(picked.map((c) => c.stackName)).toEqual(['expired', 'old-dead']);
  });

  it('batches into deterministic, hourly execution names', () => {
    const c = { stackId: 'x', stackName: 'a', pipeline: 'app', executionId: EXEC, why: 'old' };
    const reqs = sweepRequests(
      Array.from({ length: 150 }, () => c),
      now,
      false,
    );
    expect(reqs.map((r) => r.name)).toEqual(['sweep-2026010212-1', 'sweep-2026010212-2']);
    expect(reqs[0]?.input).toMatchObject({ reason: 'EXPIRED', sweepId: 'sweep-2026010212-1' });
    expect(reqs[0]?.input.stacks as unknown[]).toHaveLength(100);
  });
});

describe('sweep (the hourly use case)', () => {
  it('starts one teardown per batch of expired stacks, names them per hour, and honours dry run', async () => {
    const expired = Array.from({ length: SWEEP_BATCH + 1 }, (_, i) =>
      stack(`exp-${i}`, {}, { 'stagecrew:expires-at': '2026-01-02T11:00:00Z' }),
    );
    const starts: Array<{ name: string; input: Record<string, unknown> }> = [];
    const outcome = await sweep({
      stacks: { listAll: async () => [...expired, stack('young')] },
      executions: { status: async () => 'Failed' },
      starter: {
        startTeardown: async (name, input) => {
          starts.push({ name, input });
          return starts.filter((x) => x.name === name).length > 1 ? 'already-exists' : 'started';
        },
      },
      settings: async () => ({ maxAgeHours: 24, dryRun: true }),
      now: () => now,
    });
    expect(outcome.candidates).toHaveLength(SWEEP_BATCH + 1);
    expect(outcome.started).toEqual([
      { name: 'sweep-2026010212-1', outcome: 'started' },
      { name: 'sweep-2026010212-2', outcome: 'started' },
    ]);
    expect(starts.map((x) => (x.input.stacks as unknown[]).length)).toEqual([SWEEP_BATCH, 1]);
    expect(starts.every((x) => x.input.dryRun === true && x.input.reason === 'EXPIRED')).toBe(true);
  });
});

describe('deployedStacks', () => {
  it('keeps the CloudFormation deploy actions that name a stack, with the stack id they reported', () => {
    const base = { pipelineExecutionId: EXEC, actionExecutionId: 'a', stageName: 'Test', status: 'Succeeded' };
    expect(
      deployedStacks([
        {
          ...base,
          actionName: 'Deploy',
          category: 'Deploy',
          provider: 'CloudFormation',
          configuration: { StackName: 'test-stack', ActionMode: 'CREATE_UPDATE' },
          externalExecutionId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/test-stack/abc',
        },
        { ...base, actionName: 'NoName', category: 'Deploy', provider: 'CloudFormation', configuration: {} },
        { ...base, actionName: 'Ecs', category: 'Deploy', provider: 'ECS', configuration: { StackName: 'x' } },
        { ...base, actionName: 'Build', category: 'Build', provider: 'CodeBuild', configuration: { StackName: 'y' } },
      ]),
    ).toEqual([
      {
        stackName: 'test-stack',
        externalExecutionId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/test-stack/abc',
      },
    ]);
  });
});
