import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CreatePipelineCommand, ListPipelineExecutionsCommand } from '@aws-sdk/client-codepipeline';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { type Browser, launchBrowser } from '../helpers/browser.ts';
import { waitFor } from '../helpers/local-cloud.ts';
import { seedPipeline, useSeedPipeline } from '../helpers/seed-pipeline.ts';
import { signedFetch } from '../helpers/signed-fetch.ts';
import { seedApp } from '../unit/local/codepipeline/git-fixture.ts';

const PIPELINE = 'awscicd-pipeline';
/** After the first run (from the pipeline's creation): `ok` commits deploy, `fail` commits break the build. */
const PLAN = [
  'ok',
  'ok',
  'fail',
  'ok',
  'ok',
  'ok',
  'fail',
  'fail',
  'ok',
  'ok',
  'fail',
  'ok',
  'ok',
  'ok',
  'ok',
  'fail',
  'fail',
  'fail',
  'ok',
  'ok',
  'ok',
  'fail',
  'ok',
  'ok',
] as const;

const world = useSeedPipeline();

const executions = async () =>
  (await world().client.send(new ListPipelineExecutionsCommand({ pipelineName: PIPELINE, maxResults: 100 })))
    .pipelineExecutionSummaries ?? [];

/** Waits until `count` executions exist and the newest has ended. */
const settled = (count: number) =>
  waitFor(async () => {
    const list = await executions();
    return list.length === count && /Succeeded|Failed/.test(list[0]?.status ?? '') ? list[0] : undefined;
  }, 30_000);

/** What the plan implies, counted the way docs/METRICS.md defines the figures. */
const expected = () => {
  const outcomes = ['ok', ...PLAN];
  let failedDeployments = 0;
  let episodes = 0;
  outcomes.forEach((o, i) => {
    if (o === 'ok' && outcomes[i + 1] === 'fail') failedDeployments++;
    if (o === 'fail' && outcomes[i - 1] !== 'fail') episodes++;
  });
  return {
    runs: outcomes.length,
    deployments: outcomes.filter((o) => o === 'ok').length,
    failed: outcomes.filter((o) => o === 'fail').length,
    failedDeployments,
    episodes,
  };
};

type Figures = {
  deployments: { count: number; leadTimeFromCommit: number };
  leadTimeMs: { count: number; p50?: number; p90?: number };
  changeFailureRate: { deployments: number; failed: number; rate: number | null };
  timeToRestoreMs: { count: number; open: number; p50?: number };
  executions: { started: number; succeeded: number; failed: number };
  days: Array<{ day: string; deployments: number; failures: number }>;
};

describe('delivery figures from real pipeline runs on the local cloud', () => {
  it('runs the plan, and the read API and the dashboard show the figures it implies', {
    timeout: 240_000,
  }, async () => {
    const { cloud, client, repo } = world();
    const from = new Date(Date.now() - 60_000).toISOString();
    await client.send(new CreatePipelineCommand(seedPipeline()));
    await settled(1);
    const good = seedApp('v1')['buildspec.yml'] as string;
    const broken = good.replace('      - echo installing', '      - echo installing\n      - exit 3');
    let n = 1;
    for (const [i, step] of PLAN.entries()) {
      // Events carry whole seconds: start each run in a later second than the previous one ended, as real runs
      // (minutes long) always do, so the figures' order is the runs' order.
      await new Promise((r) => setTimeout(r, 1_010 - (Date.now() % 1_000)));
      repo.commit(
        step === 'ok'
          ? { 'buildspec.yml': good, 'index.html': `<h1>awscicd demo app — v${i + 2}</h1>\n` }
          : { 'buildspec.yml': broken, 'CHANGES.md': `attempt ${i + 2}\n` },
        `${step} ${i + 2}`,
      );
      n++;
      const latest = await settled(n);
      expect(latest?.status, `run ${n} (${step})`).toBe(step === 'ok' ? 'Succeeded' : 'Failed');
    }
    const want = expected();

    // The events reach the function asynchronously: wait until every execution is in the figures.
    const to = new Date(Date.now() + 60_000).toISOString();
    const url = `${cloud.url}/pipelines/${PIPELINE}/metrics?from=${from}&to=${to}`;
    const figures = (await waitFor(async () => {
      const res = await signedFetch(url);
      if (res.status !== 200) return undefined;
      const f = (await res.json()) as Figures;
      return f.executions.succeeded + f.executions.failed === want.runs ? f : undefined;
    }, 30_000)) as Figures;

    expect(figures.executions).toEqual({
      started: want.runs,
      succeeded: want.deployments,
      failed: want.failed,
      rollbacks: 0,
    });
    expect(figures.deployments.count).toBe(want.deployments);
    expect(figures.leadTimeMs.count).toBe(want.deployments);
    // Measured from each commit: the source revision's creation time, read once per deployment.
    expect(figures.deployments.leadTimeFromCommit).toBe(want.deployments);
    expect(figures.leadTimeMs.p90).toBeLessThan(60_000);
    expect(figures.changeFailureRate).toEqual({
      deployments: want.deployments,
      failed: want.failedDeployments,
      rate: Math.round((want.failedDeployments / want.deployments) * 10_000) / 10_000,
    });
    expect(figures.timeToRestoreMs.count).toBe(want.episodes);
    expect(figures.timeToRestoreMs.open).toBe(0);
    const perDay = (key: 'deployments' | 'failures') => figures.days.reduce((sum, d) => sum + d[key], 0);
    expect([perDay('deployments'), perDay('failures')]).toEqual([want.deployments, want.failed]);

    // The timeline through the same API; an unsigned request never reaches the function.
    const history = await signedFetch(`${cloud.url}/pipelines/${PIPELINE}/executions?limit=100`);
    expect(history.status).toBe(200);
    const body = (await history.json()) as { executions: Array<{ state: string; executionId: string }> };
    expect(body.executions).toHaveLength(want.runs);
    expect(body.executions.filter((e) => e.state === 'FAILED')).toHaveLength(want.failed);
    const unsigned = await fetch(url);
    expect(unsigned.status).toBe(403);
    expect(await unsigned.json()).toEqual({ message: 'Forbidden' });
    const bad = await signedFetch(`${cloud.url}/pipelines/${PIPELINE}/metrics?days=400`);
    expect(bad.status).toBe(400);

    // The dashboard's feed is the same computation.
    const local = (await (await fetch(`${cloud.url}/_local/delivery/${PIPELINE}?days=2`)).json()) as Figures;
    expect(local.deployments).toEqual(figures.deployments);
    expect(local.changeFailureRate).toEqual(figures.changeFailureRate);

    // Lose one summary: rebuilding from the timeline (the local route, then the script against the same endpoint)
    // writes it again and nothing else, and the figures come back the same.
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient(cloud.clientConfig));
    const table = (await new DynamoDBClient(cloud.clientConfig).send(new ListTablesCommand({}))).TableNames?.find((t) =>
      t.includes('StateTable'),
    ) as string;
    const lost = body.executions[3] as { executionId: string };
    await doc.send(new DeleteCommand({ TableName: table, Key: { pk: `EXEC#${lost.executionId}`, sk: 'DELIVERY' } }));
    const viaRoute = await fetch(`${cloud.url}/_local/delivery/${PIPELINE}/rebuild?days=2`, { method: 'POST' });
    expect(await viaRoute.json()).toMatchObject({ executions: want.runs, written: 1, unchanged: want.runs - 1 });
    // The script runs in its own process; this one serves the local cloud meanwhile (so no spawnSync).
    const script = await promisify(execFile)(
      process.execPath,
      ['scripts/rebuild-delivery.ts', '--table', table, '--pipeline', PIPELINE, '--days', '2'],
      {
        encoding: 'utf8',
        env: {
          ...process.env,
          AWS_ENDPOINT_URL: cloud.url,
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'local',
          AWS_SECRET_ACCESS_KEY: 'local',
        },
      },
    );
    expect(JSON.parse(script.stdout)).toMatchObject({ executions: want.runs, written: 0, unchanged: want.runs });
    const again = (await (await signedFetch(url)).json()) as Figures;
    expect(again.deployments).toEqual(figures.deployments);
    expect(again.changeFailureRate).toEqual(figures.changeFailureRate);
    expect(again.timeToRestoreMs).toEqual(figures.timeToRestoreMs);

    // The chart in a real browser: today's bars carry the counts, the figures read as the API says.
    let launched: Browser | undefined;
    try {
      launched = await launchBrowser();
      const page = await launched.context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${cloud.url}/_local/`);
      const block = page.locator(`.delivery[data-pipeline="${PIPELINE}"]`);
      await block.waitFor({ timeout: 15_000 });
      expect(await block.locator('[data-figure="deployments"]').textContent()).toBe(String(want.deployments));
      expect(await block.locator('[data-figure="change-failure-rate"]').textContent()).toBe(
        `${Math.round((want.failedDeployments / want.deployments) * 1000) / 10} %`,
      );
      const bars = block.locator('svg.chart rect[data-deployments]');
      expect(await bars.count()).toBe(30);
      const sum = async (attr: string) =>
        (
          await block
            .locator(`svg.chart rect[${attr}]`)
            .evaluateAll((nodes, a) => nodes.map((n) => n.getAttribute(a)), attr)
        )
          .map(Number)
          .reduce((x, y) => x + y, 0);
      expect(await sum('data-deployments')).toBe(want.deployments);
      expect(await sum('data-failures')).toBe(want.failed);
      // The tallest bar fills the chart's 80 units: the busiest day's deployments.
      const heights = await bars.evaluateAll((nodes) => nodes.map((n) => Number(n.getAttribute('height'))));
      expect(Math.max(...heights)).toBe(80);
      expect(errors).toEqual([]);
    } finally {
      await launched?.close();
    }
  });
});
