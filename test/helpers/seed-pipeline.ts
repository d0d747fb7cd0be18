import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { afterAll, beforeAll } from 'vitest';
import { type GitFixture, gitFixture, seedApp } from '../unit/local/codepipeline/git-fixture.ts';
import { startTestCloud, type TestCloud } from './local-cloud.ts';

export type SeedWorld = { cloud: TestCloud; client: CodePipelineClient; repo: GitFixture };

/**
 * The seed tutorial's setup for a test file: a local git repository with the seed app standing in for CodeCommit
 * (`awscicd-demo-app`), CodeDeploy writing under the repository's folder, and a started local cloud with a
 * CodePipeline client. Registers its own beforeAll/afterAll; the getter returns the running world.
 */
export const useSeedPipeline = (): (() => SeedWorld) => {
  let world: SeedWorld | undefined;
  const saved = { sources: process.env.STAGECREW_SOURCES, deploy: process.env.STAGECREW_DEPLOY_DIR };
  beforeAll(async () => {
    const repo = gitFixture(seedApp('v1'));
    const sources = join(repo.root, 'sources.json');
    writeFileSync(sources, JSON.stringify({ 'awscicd-demo-app': repo.repo }));
    process.env.STAGECREW_SOURCES = sources;
    process.env.STAGECREW_DEPLOY_DIR = join(repo.root, 'deploy');
    const cloud = await startTestCloud();
    world = { cloud, client: new CodePipelineClient(cloud.clientConfig), repo };
  }, 60_000);
  afterAll(async () => {
    await world?.cloud.stop();
    world?.repo.cleanup();
    process.env.STAGECREW_SOURCES = saved.sources;
    process.env.STAGECREW_DEPLOY_DIR = saved.deploy;
  });
  return () => {
    if (!world) throw new Error('the seed pipeline world is not started (use it inside a test)');
    return world;
  };
};

/** The seed tutorial's pipeline declaration (Source → Build → Deploy). */
export const seedPipeline = () => JSON.parse(readFileSync('test/fixtures/pipelines/seed-three-stage.json', 'utf8'));
