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

describe('sweep across accounts and regions (docs/ORGANIZATION.md)', () => {
  const HOME = { accountId: '123456789012', region: 'us-east-1' };
  const MEMBER = '222222222222';
  const at = (name: string, account: string, region: string, over: Partial<TeardownStack> = {}, tags = {}) => ({
    ...stack(name, over, tags),
    stackId: `arn:aws:cloudformation:${region}:${account}:stack/${name}/0a1b2c3d-0000-1111-2222-333344445555`,
  });
  const old = { creationTime: '2026-01-01T00:00:00Z' };

  const run = (options: {
    listIn: (where: { accountId: string; region: string }) => Promise<TeardownStack[]>;
    locate?: (executionId: string) => Promise<{ accountId: string; region: string } | undefined>;
    status?: (p: string, e: string, where?: { accountId: string; region: string }) => Promise<string>;
    timeoutMs?: number;
    budgetMs?: number;
  }) => {
    const reads: string[] = [];
    const starts: Array<Record<string, unknown>> = [];
    const outcome = sweep({
      stacks: { listAll: async () => [stack('home-expired', {}, { 'stagecrew:expires-at': '2026-01-02T11:00:00Z' })] },
      executions: {
        status: async (p, e, where) => {
          reads.push(where ? `${where.accountId}/${where.region}` : 'home');
          return options.status ? options.status(p, e, where) : 'Failed';
        },
      },
      starter: {
        startTeardown: async (_name, input) => {
          starts.push(input);
          return 'started';
        },
      },
      settings: async () => ({ maxAgeHours: 24, dryRun: false }),
      now: () => now,
      organization: {
        home: HOME,
        settings: async () => ({ accounts: [MEMBER], regions: ['us-east-1', 'eu-west-1'] }),
        listIn: options.listIn,
        locate: options.locate ?? (async () => undefined),
        ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
        ...(options.budgetMs !== undefined ? { budgetMs: options.budgetMs } : {}),
      },
    });
    return { outcome, reads, starts };
  };

  it('lists every member account and region, and expires their stacks like the hub own', async () => {
    const listed: string[] = [];
    const { outcome } = run({
      listIn: async (where) => {
        listed.push(`${where.accountId}/${where.region}`);
        return where.region === 'eu-west-1'
          ? [at('member-expired', MEMBER, 'eu-west-1', {}, { 'stagecrew:expires-at': '2026-01-02T11:00:00Z' })]
          : [];
      },
    });
    const done = await outcome;
    expect(listed.sort()).toEqual([`${MEMBER}/eu-west-1`, `${MEMBER}/us-east-1`]);
    expect(done.locations).toBe(3);
    expect(done.candidates.map((c) => c.stackName).sort()).toEqual(['home-expired', 'member-expired']);
    expect(done.unreachable).toEqual([]);
  });

  it('reports a slow or failing location and sweeps the others without waiting for it', async () => {
    const started = Date.now();
    const { outcome } = run({
      timeoutMs: 50,
      listIn: async (where) => {
        if (where.region === 'us-east-1') return new Promise<TeardownStack[]>(() => undefined); // never answers
        throw new Error('AccessDenied');
      },
    });
    const done = await outcome;
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(done.candidates.map((c) => c.stackName)).toEqual(['home-expired']);
    expect([...done.unreachable].sort((a, b) => a.location.localeCompare(b.location))).toEqual([
      { location: `${MEMBER}/eu-west-1`, error: 'AccessDenied' },
      { location: `${MEMBER}/us-east-1`, error: `listing stacks in ${MEMBER}/us-east-1 did not answer within 50 ms` },
    ]);
  });

  it('expires an old member stack by age only when the hub knows where its execution runs, and asks there', async () => {
    const known = '22222222-2222-3333-4444-555555555555';
    const { outcome, reads } = run({
      listIn: async (where) =>
        where.region === 'eu-west-1'
          ? [
              at('old-unknown', MEMBER, 'eu-west-1', old),
              at('old-known', MEMBER, 'eu-west-1', old, { 'stagecrew:execution-id': known }),
              at('old-running', MEMBER, 'eu-west-1', old, {
                'stagecrew:execution-id': known,
                'stagecrew:pipeline': 'live',
              }),
            ]
          : [],
      locate: async (e) => (e === known ? { accountId: '444444444444', region: 'us-west-2' } : undefined),
      status: async (p) => (p === 'live' ? 'InProgress' : 'Failed'),
    });
    const done = await outcome;
    expect(done.candidates.map((c) => c.stackName)).toEqual(['home-expired', 'old-known']);
    expect(reads).toEqual(['444444444444/us-west-2', '444444444444/us-west-2']);
  });

  it('starts no location once its time budget is spent, and says which were left for the next sweep', async () => {
    const { outcome } = run({
      budgetMs: 0,
      listIn: async () => {
        await new Promise((r) => setTimeout(r, 5));
        return [];
      },
    });
    const done = await outcome;
    // The hub's own location went first (within budget, time 0); the members were left.
    expect(done.candidates.map((c) => c.stackName)).toEqual(['home-expired']);
    expect(done.unreachable.length).toBeGreaterThan(0);
    expect(done.unreachable[0]?.error).toBe("not listed: the sweep's 0 ms budget was spent");
  });
});
