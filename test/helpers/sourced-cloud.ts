import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type GitFixture, gitFixture } from '../unit/local/codepipeline/git-fixture.ts';
import { startTestCloud, type TestCloud } from './local-cloud.ts';

export type SourcedCloud = TestCloud & {
  repo: GitFixture;
  /** Stops the cloud, removes the repository and restores STAGECREW_SOURCES. */
  cleanup(): Promise<void>;
};

/**
 * A test cloud whose CodeCommit source `repository` is a git repository holding `files` (STAGECREW_SOURCES points
 * at it until cleanup), with `parameters` as the stack parameters of its local config (stagecrew.local.json).
 */
export const startSourcedCloud = async (options: {
  repository: string;
  files: Record<string, string>;
  parameters: Record<string, unknown>;
}): Promise<SourcedCloud> => {
  const repo = gitFixture(options.files);
  writeFileSync(join(repo.root, 'sources.json'), JSON.stringify({ [options.repository]: repo.repo }));
  const saved = process.env.STAGECREW_SOURCES;
  process.env.STAGECREW_SOURCES = join(repo.root, 'sources.json');
  const restore = () => {
    repo.cleanup();
    process.env.STAGECREW_SOURCES = saved;
  };
  writeFileSync(join(repo.root, 'stagecrew.local.json'), JSON.stringify({ parameters: options.parameters }));
  let t: TestCloud;
  try {
    t = await startTestCloud({ localConfigPath: join(repo.root, 'stagecrew.local.json') });
  } catch (err) {
    restore();
    throw err;
  }
  return {
    ...t,
    repo,
    async cleanup() {
      await t.stop();
      restore();
    },
  };
};
