/**
 * Nightly fuzzing: every handler property suite under test/fuzz with the full input count (10,000 per property
 * unless STAGECREW_FUZZ_RUNS says otherwise). CI runs the same suites with the small default count.
 *
 *   npx node scripts/fuzz-nightly.ts                 # 10,000 inputs per property
 *   STAGECREW_FUZZ_RUNS=50000 npx node scripts/fuzz-nightly.ts
 *   STAGECREW_FUZZ_SEED=1234 npx node scripts/fuzz-nightly.ts   # replay a failure's seed
 *
 * Exits with vitest's status, so a scheduler sees a failed property as a failed job.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const NIGHTLY_RUNS = 10_000;

const runs = process.env.STAGECREW_FUZZ_RUNS ?? String(NIGHTLY_RUNS);
if (!/^[1-9]\d*$/.test(runs)) {
  console.error(`STAGECREW_FUZZ_RUNS must be a positive integer, got "${runs}"`);
  process.exit(2);
}

const root = fileURLToPath(new URL('..', import.meta.url));
const vitest = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url));
const started = Date.now();
console.log(`fuzz: ${Number(runs).toLocaleString('en-US')} inputs per property, suites under test/fuzz`);

const child = spawn(process.execPath, [vitest, 'run', '--project', 'unit', 'test/fuzz/'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, STAGECREW_FUZZ_RUNS: runs },
});
child.on('exit', (code, signal) => {
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`fuzz: ${code === 0 ? 'passed' : 'FAILED'} in ${seconds} s (${runs} inputs per property)`);
  process.exit(code ?? (signal ? 1 : 0));
});
