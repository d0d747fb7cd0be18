/**
 * Runs a tool from the project's Python virtualenvs (.venv for SAM/cfn-lint/awscli, .venv-checkov for checkov),
 * creating them first if needed: `node scripts/py.ts sam build`.
 */
import { spawnSync } from 'node:child_process';
import { ensureVenvs, venvBin } from './venv.ts';

const [tool, ...args] = process.argv.slice(2);
if (!tool) {
  console.error('usage: node scripts/py.ts <tool> [args...]');
  process.exit(2);
}
ensureVenvs();
const result = spawnSync(venvBin(tool), args, {
  stdio: 'inherit',
  env: { ...process.env, SAM_CLI_TELEMETRY: '0' },
});
process.exit(result.status ?? 1);
