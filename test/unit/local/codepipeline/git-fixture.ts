/** A throw-away local git repository standing in for the seed tutorial's CodeCommit repository. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export type GitFixture = {
  root: string;
  repo: string;
  commit(files: Record<string, string>, message: string): string;
  cleanup(): void;
};

export function gitFixture(files: Record<string, string>): GitFixture {
  const root = mkdtempSync(join(tmpdir(), 'cp-test-'));
  const repo = join(root, 'repo');
  mkdirSync(repo);
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', repo, '-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], {
      encoding: 'utf8',
    }).trim();
  git('init', '-q', '-b', 'main');
  const commit = (changes: Record<string, string>, message: string) => {
    for (const [path, content] of Object.entries(changes)) {
      mkdirSync(dirname(join(repo, path)), { recursive: true });
      writeFileSync(join(repo, path), content);
    }
    git('add', '-A');
    git('commit', '-q', '-m', message);
    return git('rev-parse', 'HEAD');
  };
  commit(files, 'initial commit');
  return { root, repo, commit, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** The seed app: a buildspec that runs real commands and an appspec with files and hooks. */
export const seedApp = (version: string): Record<string, string> => ({
  'index.html': `<h1>awscicd demo app — ${version}</h1>\n`,
  'buildspec.yml': [
    'version: 0.2',
    'env:',
    '  variables:',
    '    GREETING: hello',
    '  exported-variables:',
    '    - BUILD_VERSION',
    '    - GREETING',
    'phases:',
    '  install:',
    '    commands:',
    '      - echo installing',
    '  pre_build:',
    '      commands:',
    '        - mkdir -p dist/scripts',
    '        - BUILD_VERSION=$(grep -o "v[0-9]*" index.html)',
    '  build:',
    '    commands:',
    '      - cd dist',
    '      - cp ../index.html ../appspec.yml .',
    '      - cp ../scripts/*.sh scripts/',
    '      - echo "built $BUILD_VERSION ($GREETING) from $CODEBUILD_RESOLVED_SOURCE_VERSION" > build.txt',
    '  post_build:',
    '    commands:',
    '      - echo "post build in $(basename $(pwd)), succeeding=$CODEBUILD_BUILD_SUCCEEDING"',
    'artifacts:',
    '  base-directory: dist',
    '  files:',
    "    - '**/*'",
    '',
  ].join('\n'),
  'appspec.yml': [
    'version: 0.0',
    'os: linux',
    'files:',
    '  - source: /index.html',
    '    destination: /var/www/html/',
    '  - source: /build.txt',
    '    destination: /var/www/html/',
    'hooks:',
    '  AfterInstall:',
    '    - location: scripts/after-install.sh',
    '      timeout: 60',
    '  ValidateService:',
    '    - location: scripts/validate.sh',
    '',
  ].join('\n'),
  'scripts/after-install.sh':
    '#!/bin/bash\nset -e\necho "after install $LIFECYCLE_EVENT" > "$DEPLOYMENT_ROOT/hook.txt"\n',
  'scripts/validate.sh': '#!/bin/bash\ngrep -q "demo app" "$DEPLOYMENT_ROOT/var/www/html/index.html"\n',
});
