/**
 * The sweeper over an organization, on the local cloud (docs/ORGANIZATION.md): M member accounts × R regions, each
 * with member.yaml's role, one expired Stagecrew-tagged test stack and one production stack per location. The
 * hourly sweep (TeardownSweeperFunction, invoked as its schedule does) lists every location through the member role
 * and starts the teardown of every expired stack; the teardown executions then delete them where they live.
 *
 * Reported per scale: the sweep's wall time, the AWS calls it made (STS, CloudFormation) per location, and, once every
 * teardown execution has ended, Step Functions state transitions per torn-down stack. Scales: 1×1, 10×5, 100×5
 * (`ORG_SCALES="100x5"` picks). Production stacks must all still exist afterwards, or the benchmark fails.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalCloud } from '../local/main.ts';
import type { MeterSnapshot } from '../local/runtime/meter.ts';

process.env.STAGECREW_CFN_DELAY_MS = '1';
process.env.STAGECREW_SFN_WAIT_SCALE = '0';

const SCALES = (process.env.ORG_SCALES ?? '1x1,10x5,100x5').split(',').map((s) => {
  const [m, r] = s.split('x').map(Number);
  return { accounts: m as number, regions: r as number };
});
const REGIONS = ['us-east-1', 'eu-west-1', 'eu-central-1', 'ap-southeast-2', 'us-west-2'];
const EXTERNAL_ID = 'bench-org';
const EXECUTION = '11111111-2222-4333-8444-555555555555';
const template = JSON.stringify({
  Resources: { Marker: { Type: 'AWS::SSM::Parameter', Properties: { Type: 'String', Value: 'x' } } },
});
const member = readFileSync('member.yaml', 'utf8');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = async <T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
};

const run = async (accounts: number, regions: number) => {
  const dir = mkdtempSync(join(tmpdir(), 'stagecrew-org-bench-'));
  const ids = Array.from({ length: accounts }, (_, i) => String(200_000_000_000 + i));
  const where = REGIONS.slice(0, regions);
  writeFileSync(
    join(dir, 'stagecrew.local.json'),
    JSON.stringify({
      parameters: { MemberAccountIds: ids.join(','), MemberRegions: where.join(','), MemberExternalId: EXTERNAL_ID },
    }),
  );
  const cloud = await startLocalCloud({
    port: 0,
    quiet: true,
    schedules: false,
    stateDir: join(dir, 'state'),
    localConfigPath: join(dir, 'stagecrew.local.json'),
  });
  try {
    // In-process calls as each account (the partition of that account and region): setup is not measured.
    const setupStarted = Date.now();
    const settleAll = async (pairs: Array<[string, string, string]>) => {
      for (const [account, region, name] of pairs) {
        await until(`${name} in ${account}/${region}`, async () => {
          const out = (await cloud.ctx
            .partition?.(account, region)
            .call('cloudformation', 'DescribeStacks', { StackName: name })) as {
            Stacks?: Array<{ StackStatus: string }>;
          };
          const status = out.Stacks?.[0]?.StackStatus ?? '';
          return status.endsWith('_COMPLETE') ? status : undefined;
        });
      }
    };
    const created: Array<[string, string, string]> = [];
    for (const account of ids) {
      // member.yaml in every region, as a StackSet deploys it: the role in the first, the forwarding rules in all.
      for (const region of where) {
        await cloud.ctx.partition?.(account, region).call('cloudformation', 'CreateStack', {
          StackName: 'stagecrew-member',
          TemplateBody: member,
          Capabilities: ['CAPABILITY_NAMED_IAM'],
          Parameters: Object.entries({
            HubAccountId: '000000000000',
            HubRegion: 'us-east-1',
            ExternalId: EXTERNAL_ID,
            MemberRoleRegion: where[0] as string,
          }).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue })),
        });
        created.push([account, region, 'stagecrew-member']);
      }
      for (const region of where) {
        const here = cloud.ctx.partition?.(account, region);
        await here?.call('cloudformation', 'CreateStack', {
          StackName: 'test-expired',
          TemplateBody: template,
          Tags: [
            { Key: 'stagecrew:managed', Value: 'true' },
            { Key: 'stagecrew:pipeline', Value: 'shop' },
            { Key: 'stagecrew:execution-id', Value: EXECUTION },
            { Key: 'stagecrew:expires-at', Value: '2020-01-01T00:00:00Z' },
          ],
        });
        await here?.call('cloudformation', 'CreateStack', { StackName: 'prod-app', TemplateBody: template });
        created.push([account, region, 'test-expired'], [account, region, 'prod-app']);
      }
    }
    process.stderr.write(`${accounts}×${regions}: ${created.length} stacks created, waiting for them\n`);
    await settleAll(created);
    process.stderr.write(`${accounts}×${regions}: sweeping\n`);
    process.stderr.write(`${accounts}×${regions}: set up in ${((Date.now() - setupStarted) / 1000).toFixed(1)} s\n`);

    // The sweep, as its hourly schedule invokes it.
    await fetch(`${cloud.url}/_local/meter`, { method: 'DELETE' });
    const sweeper = cloud.model.functions.find((f) => f.logicalId === 'TeardownSweeperFunction')?.name ?? '';
    const started = performance.now();
    const result = (await cloud.invoker.invoke(sweeper, {}, 'RequestResponse')) as {
      locations: number;
      candidates: number;
      started: unknown[];
      unreachable: number;
    };
    const sweepMs = performance.now() - started;
    const sweepMeter = (await (await fetch(`${cloud.url}/_local/meter`)).json()) as MeterSnapshot;
    process.stderr.write(`${accounts}×${regions}: sweep ${JSON.stringify(result)}\n`);

    // Every teardown execution the sweep started, to its end.
    const machines = (await cloud.ctx.call('stepfunctions', 'ListStateMachines', {})).stateMachines as Array<{
      stateMachineArn: string;
    }>;
    const arn = machines[0]?.stateMachineArn ?? '';
    const runs = await until('the sweep executions', async () => {
      const out = (await cloud.ctx.call('stepfunctions', 'ListExecutions', { stateMachineArn: arn })) as {
        executions: Array<{ executionArn: string; status: string }>;
      };
      const mine = out.executions;
      return mine.length >= result.started.length && mine.every((e) => e.status !== 'RUNNING') ? mine : undefined;
    });
    let transitions = 0;
    for (const e of runs) {
      const d = await cloud.ctx.call('stepfunctions', 'DescribeExecution', { executionArn: e.executionArn });
      if (d.status !== 'SUCCEEDED') throw new Error(`teardown ${e.executionArn} ended ${String(d.status)}`);
      transitions += Number(d.stateTransitionCount ?? 0);
    }
    const totalMs = performance.now() - started;

    // Safety: every production stack is still there; every expired test stack is gone.
    let kept = 0;
    let gone = 0;
    for (const account of ids) {
      for (const region of where) {
        const here = cloud.ctx.partition?.(account, region);
        const prod = (await here?.call('cloudformation', 'DescribeStacks', { StackName: 'prod-app' })) as {
          Stacks?: Array<{ StackStatus: string }>;
        };
        if (prod.Stacks?.[0]?.StackStatus === 'CREATE_COMPLETE') kept += 1;
        const test = await here
          ?.call('cloudformation', 'DescribeStacks', { StackName: 'test-expired' })
          .catch(() => ({ Stacks: [] }));
        if (((test as { Stacks?: unknown[] }).Stacks ?? []).length === 0) gone += 1;
      }
    }
    const locations = accounts * regions;
    if (kept !== locations) throw new Error(`production stacks left: ${kept} of ${locations}`);
    if (gone !== locations) throw new Error(`expired test stacks deleted: ${gone} of ${locations}`);
    const calls = (prefix: string) =>
      Object.entries(sweepMeter.calls)
        .filter(([k]) => k.startsWith(prefix))
        .reduce((n, [, v]) => n + v, 0);
    return {
      accounts,
      regions,
      locations,
      sweepMs,
      totalMs,
      sweep: result,
      assumeRole: calls('sts:AssumeRole'),
      describeStacks: calls('cloudformation:DescribeStacks'),
      teardowns: runs.length,
      transitions,
    };
  } finally {
    await cloud.stop();
    rmSync(dir, { recursive: true, force: true });
  }
};

const rows: string[] = [];
for (const { accounts, regions } of SCALES) {
  const r = await run(accounts, regions);
  // +1: the hub's own account and region is swept too (it has no stacks here).
  const perLocation = (n: number) => (n / (r.locations + 1)).toFixed(2);
  rows.push(
    `| ${r.accounts} × ${r.regions} | ${r.sweep.locations} | ${(r.sweepMs / 1000).toFixed(2)} s | ${(r.sweepMs / r.sweep.locations).toFixed(1)} ms | ${r.assumeRole} | ${r.describeStacks} (${perLocation(r.describeStacks)}) | ${r.sweep.candidates} | ${r.teardowns} | ${(r.transitions / r.sweep.candidates).toFixed(1)} | ${(r.totalMs / 1000).toFixed(1)} s | ${r.sweep.unreachable} |`,
  );
}

console.log(`## Organization sweep

\`node bench/organization-sweep.ts\` — the local cloud with M member accounts × R regions (member.yaml deployed in
each account; one expired Stagecrew-tagged stack and one production stack per account and region), the hourly
TeardownSweeperFunction invoked once, then every teardown it started run to its end. Per location: the sweep lists
the stacks there through the member role (one DescribeStacks page; one AssumeRole per account, shared by its
regions), eight locations at a time, each with a 20 s deadline. Every production stack still exists afterwards and
every expired test stack is gone (the benchmark fails otherwise).

| accounts × regions | locations swept | sweep | per location | AssumeRole | DescribeStacks (per location) | expired stacks | teardown executions | transitions per stack | sweep + teardowns | unreachable |
|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}
`);
