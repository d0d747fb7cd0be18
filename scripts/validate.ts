/**
 * Template checks with AWS's own tools, in CI order: cfn-lint (the hub's template.yaml and member.yaml), sam validate
 * --lint, checkov on both templates (fail on findings; suppressions live in the template with a written reason),
 * asl-validator on every state machine.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureVenvs, venvBin } from './venv.ts';

ensureVenvs();

/**
 * State machines carry DefinitionSubstitutions (`${TeardownTaskFunctionArn}`); the validator needs concrete
 * values, so each is replaced by a well-formed stand-in of the same kind before validation.
 */
const substituted = (file: string): string => {
  const text = readFileSync(join('statemachines', file), 'utf8').replace(/\$\{(\w+)\}/g, (_m, name: string) =>
    name.endsWith('FunctionArn')
      ? `arn:aws:lambda:us-east-1:123456789012:function:${name}`
      : name.endsWith('Arn')
        ? `arn:aws:states:us-east-1:123456789012:stateMachine:${name}`
        : name,
  );
  const out = join(mkdtempSync(join(tmpdir(), 'asl-')), file);
  writeFileSync(out, text);
  return out;
};
const env = { ...process.env, SAM_CLI_TELEMETRY: '0', BC_SKIP_MAPPING: 'TRUE' };
const steps: Array<[string, string, string[]]> = [
  ['cfn-lint', venvBin('cfn-lint'), ['template.yaml', 'member.yaml']],
  ['sam validate --lint', venvBin('sam'), ['validate', '--lint', '--region', 'us-east-1']],
  [
    'checkov',
    venvBin('checkov'),
    ['-f', 'template.yaml', '--framework', 'cloudformation', '--compact', '--quiet', '--skip-download'],
  ],
  [
    'checkov (member.yaml)',
    venvBin('checkov'),
    ['-f', 'member.yaml', '--framework', 'cloudformation', '--compact', '--quiet', '--skip-download'],
  ],
  [
    'asl-validator',
    'node_modules/.bin/asl-validator',
    readdirSync('statemachines')
      .filter((f) => f.endsWith('.asl.json'))
      .flatMap((f) => ['--json-path', substituted(f)]),
  ],
];
for (const [name, cmd, args] of steps) {
  console.error(`\n== ${name}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env });
  if (r.status !== 0) {
    console.error(`${name} failed (exit ${r.status})`);
    process.exit(1);
  }
}
console.error('\ntemplate checks passed');
