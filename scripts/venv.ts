import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The project-local Python virtualenvs and the requirement files that fill them. */
const VENVS = [
  {
    dir: 'node_modules/.cache/stagecrew-py/sam',
    requirements: 'requirements-dev.txt',
    tools: ['sam', 'cfn-lint', 'aws'],
  },
  { dir: 'node_modules/.cache/stagecrew-py/checkov', requirements: 'requirements-checkov.txt', tools: ['checkov'] },
] as const;

const run = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed with exit code ${r.status}`);
};

const python = (): string => {
  for (const candidate of ['python3', 'python']) {
    if (spawnSync(candidate, ['--version']).status === 0) return candidate;
  }
  throw new Error('python3 is required for the AWS tools (cfn-lint, aws-sam-cli, checkov, awscli)');
};

/** Creates each virtualenv and installs its pinned requirements, again only when the requirements file changed. */
export const ensureVenvs = (): void => {
  for (const venv of VENVS) {
    const digest = createHash('sha256').update(readFileSync(venv.requirements)).digest('hex');
    const stamp = join(venv.dir, '.requirements.sha256');
    if (existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) continue;
    console.error(`setting up ${venv.dir} from ${venv.requirements}`);
    if (!existsSync(join(venv.dir, 'bin', 'python'))) run(python(), ['-m', 'venv', venv.dir]);
    run(join(venv.dir, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', '-r', venv.requirements]);
    writeFileSync(stamp, digest);
  }
};

export const venvBin = (tool: string): string => {
  const venv = VENVS.find((v) => (v.tools as readonly string[]).includes(tool));
  if (!venv) throw new Error(`unknown Python tool ${tool}`);
  return join(venv.dir, 'bin', tool);
};
