/**
 * Local cloud HTTP throughput: a bounded autocannon run on loopback against `GET /_local/health` and an SSM
 * `GetParameter` (awsJson through the full dispatch: SigV4 scope, X-Amz-Target, store read, JSON out), side by
 * side with a bare node:http hello world in the same process and run. Prints a Markdown section.
 *
 * Targets are interleaved over several rounds and each row is the median round, so a burst of other work on a
 * shared machine lands on one round of one target instead of skewing a whole row.
 *
 *   node bench/local-http.ts            (3 rounds × 3 s per target, 10 connections)
 *   BENCH_ROUNDS=5 BENCH_SECONDS=2 node bench/local-http.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startLocalCloud } from '../local/main.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);

type Target = { name: string; url: string; method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string };
type Row = { name: string; rps: number; mean: number; p50: number; p99: number; errors: number; non2xx: number };

const run = async (target: Target, duration: number): Promise<Row> => {
  const result = await autocannon({
    url: target.url,
    method: target.method ?? 'GET',
    headers: target.headers ?? {},
    ...(target.body !== undefined ? { body: target.body } : {}),
    connections,
    duration,
  });
  return {
    name: target.name,
    rps: result.requests.average,
    mean: result.latency.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
};

const bare = createServer((_req, res) => {
  // The same framing the local cloud uses (explicit content-length, no chunking), so the rows compare handlers.
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' });
  res.end('hello');
});
await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', () => resolve()));
const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/`;

const stateDir = mkdtempSync(join(tmpdir(), 'stagecrew-bench-'));
const cloud = await startLocalCloud({ port: 0, stateDir, quiet: true, schedules: false });
const parameter = cloud.model.parameters[0]?.name ?? 'stagecrew-SettingsParameter';

const targets: Target[] = [
  { name: 'bare node:http hello world', url: bareUrl },
  { name: 'local cloud `GET /_local/health`', url: `${cloud.url}/_local/health` },
  {
    name: 'local cloud SSM `GetParameter`',
    url: `${cloud.url}/`,
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'AmazonSSM.GetParameter',
      'x-amz-date': '20260101T000000Z',
      authorization:
        'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/ssm/aws4_request, SignedHeaders=host;x-amz-date, Signature=0',
    },
    body: JSON.stringify({ Name: parameter }),
  },
];

const loadBefore = loadavg()[0]?.toFixed(1);
const samples = new Map<string, Row[]>(targets.map((t) => [t.name, []]));
const median = (list: Row[]): Row => {
  const sorted = [...list].sort((a, b) => a.rps - b.rps);
  return sorted[Math.floor(sorted.length / 2)] as Row;
};
let rows: Row[] = [];
try {
  for (const t of targets) await run(t, 1); // warm-up: JIT, sockets, first store reads
  for (let round = 0; round < rounds; round++) {
    for (const t of targets) samples.get(t.name)?.push(await run(t, seconds));
  }
  rows = targets.map((t) => median(samples.get(t.name) ?? []));
} finally {
  await cloud.stop();
  bare.close();
  rmSync(stateDir, { recursive: true, force: true });
}

const baseline = rows[0]?.rps ?? 1;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const lines = [
  '## Local cloud HTTP throughput',
  '',
  `\`bench/local-http.ts\`: autocannon on loopback, ${connections} connections, ${rounds} interleaved rounds of ${seconds} s per target after a 1 s warm-up, ` +
    `median round per row; load generator and servers in one process (so they share the machine the same way for every row). ${process.version}, ${process.platform} ${process.arch}; ` +
    `load average before the run ${loadBefore}, after ${loadavg()[0]?.toFixed(1)}.`,
  '',
  '| Target | req/s | mean ms | p50 ms | p99 ms | vs bare (req/s) | errors / non-2xx |',
  '|---|---:|---:|---:|---:|---:|---:|',
  ...rows.map(
    (r) =>
      `| ${r.name} | ${fmt(r.rps)} | ${r.mean.toFixed(2)} | ${r.p50} | ${r.p99} | ${(r.rps / baseline).toFixed(2)}× | ${r.errors} / ${r.non2xx} |`,
  ),
  '',
  'Percentiles come from autocannon at 1 ms resolution (0 means under a millisecond); the mean has finer resolution.',
  '',
];
console.log(lines.join('\n'));
const all = [...samples.values()].flat();
if (all.some((r) => r.errors > 0 || r.non2xx > 0)) process.exit(1);
