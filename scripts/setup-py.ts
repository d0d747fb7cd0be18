import { ensureVenvs } from './venv.ts';

ensureVenvs();
console.error('python tools ready: .venv (sam, cfn-lint, aws), .venv-checkov (checkov)');
