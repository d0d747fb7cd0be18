/**
 * Runs every benchmark in bench/ (each a standalone script that prints a Markdown section) one after the
 * other, so they do not compete for the machine's two cores. `node bench/run.ts bundles` runs one.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const only = process.argv.slice(2);
const scripts = readdirSync('bench')
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();
let failed = 0;
for (const script of scripts) {
  console.log(`\n<!-- bench/${script} -->`);
  const r = spawnSync(process.execPath, [`bench/${script}`], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.error(`bench/${script} failed (exit ${r.status})`);
  }
}
process.exit(failed === 0 ? 0 : 1);
