/**
 * Local CodePipeline: the API (api/), the execution engine (engine/) and action providers (providers/).
 * `createCodePipeline()` builds an instance with injectable clock, sleep and directories for tests; `service`
 * is the instance the local cloud's server discovers.
 */
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { JsonService, LocalContext } from '../types.ts';
import { type Api, createOperations } from './api/operations.ts';
import { Engine } from './engine/engine.ts';
import { pollSources } from './engine/watch.ts';
import { approvalProvider } from './providers/approval.ts';
import { cloudformationProvider } from './providers/cloudformation.ts';
import { codebuildProvider } from './providers/codebuild.ts';
import { codedeployProvider, s3DeployProvider, simulatedDeployProvider } from './providers/deploy.ts';
import { lambdaProvider } from './providers/lambda.ts';
import type { EnvironmentOptions, Provider } from './providers/provider.ts';
import { sourceProvider } from './providers/source.ts';

export type CodePipelineOptions = {
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  env?: Partial<EnvironmentOptions>;
  providers?: Record<string, Provider>;
  /** How often deadlines and watched sources are checked; 0 disables the timer (tests drive `tick()`). */
  tickMs?: number;
};

export type CodePipeline = {
  service: JsonService;
  engine: Engine;
  api: Api;
  /** Checks deadlines and watched sources once (the timer calls it; tests call it directly). */
  tick(): Promise<void>;
};

export const defaultProviders = (): Record<string, Provider> => ({
  'Approval/AWS/Manual': approvalProvider,
  'Invoke/AWS/Lambda': lambdaProvider,
  'Source/AWS/CodeCommit': sourceProvider,
  'Source/AWS/CodeStarSourceConnection': sourceProvider,
  'Source/AWS/S3': sourceProvider,
  'Source/AWS/ECR': sourceProvider,
  'Build/AWS/CodeBuild': codebuildProvider,
  'Test/AWS/CodeBuild': codebuildProvider,
  'Deploy/AWS/CloudFormation': cloudformationProvider,
  'Deploy/AWS/CodeDeploy': codedeployProvider,
  'Deploy/AWS/S3': s3DeployProvider,
  'Deploy/AWS/ECS': simulatedDeployProvider,
  'Deploy/AWS/CodeDeployToECS': simulatedDeployProvider,
  'Deploy/AWS/ElasticBeanstalk': simulatedDeployProvider,
  'Deploy/AWS/AppConfig': simulatedDeployProvider,
});

/**
 * Source mapping from local configuration: `STAGECREW_SOURCES` names a JSON file mapping repository names
 * (CodeCommit RepositoryName, CodeStarSourceConnection FullRepositoryId, S3 `bucket/key`, ECR RepositoryName)
 * to local paths; otherwise `<STAGECREW_REPOS_DIR or .stagecrew/repos>/<name>` is used when it exists.
 */
export function defaultSourceResolver(provider: string, configuration: Record<string, string>): string | undefined {
  const name =
    provider === 'CodeStarSourceConnection'
      ? configuration.FullRepositoryId
      : provider === 'S3'
        ? `${configuration.S3Bucket}/${configuration.S3ObjectKey}`
        : configuration.RepositoryName;
  if (!name) return undefined;
  const mapFile = process.env.STAGECREW_SOURCES;
  if (mapFile && existsSync(mapFile)) {
    const map = JSON.parse(readFileSync(mapFile, 'utf8')) as Record<string, string>;
    const path = map[name];
    if (path) return isAbsolute(path) ? path : resolve(join(mapFile, '..'), path);
  }
  // Repositories live under the state directory, as docs/LOCAL.md says (`$STAGECREW_STATE_DIR/repos`).
  const candidate = resolve(
    process.env.STAGECREW_REPOS_DIR ?? join(process.env.STAGECREW_STATE_DIR?.trim() || '.stagecrew', 'repos'),
    name,
  );
  return existsSync(candidate) ? candidate : undefined;
}

export function createCodePipeline(options: CodePipelineOptions = {}): CodePipeline {
  // Resolved on use, so the environment of the running local cloud (not of the first import) decides.
  const env: EnvironmentOptions = {
    get workDir() {
      return options.env?.workDir ?? join(tmpdir(), 'stagecrew-codepipeline');
    },
    get deployDir() {
      return (
        options.env?.deployDir ??
        resolve(process.env.STAGECREW_DEPLOY_DIR ?? join(process.env.STAGECREW_STATE_DIR ?? '.stagecrew', 'deploy'))
      );
    },
    resolveSource: options.env?.resolveSource ?? defaultSourceResolver,
  };
  const engine = new Engine({
    env,
    providers: options.providers ?? defaultProviders(),
    ...(options.now ? { now: options.now } : {}),
    ...(options.sleep ? { sleep: options.sleep } : {}),
  });
  const api = createOperations(engine);
  let timer: NodeJS.Timeout | undefined;
  let ticking = false;
  const tick = async () => {
    if (ticking || !engine.ctx) return;
    ticking = true;
    try {
      await engine.checkDeadlines();
      await pollSources(engine, api);
    } finally {
      ticking = false;
    }
  };
  const service: JsonService = {
    protocol: 'json',
    id: 'codepipeline',
    targetPrefix: 'CodePipeline_20150709',
    signingName: 'codepipeline',
    jsonVersion: '1.1',
    operations: api.operations,
    start(ctx: LocalContext) {
      // The module is imported once per process; each local cloud started in it rebinds the engine.
      engine.open(ctx);
      engine.resume();
      const every = options.tickMs ?? 1000;
      if (every > 0) {
        timer = setInterval(
          () => void tick().catch((err) => ctx.log.error('codepipeline tick failed', { error: String(err) })),
          every,
        );
        timer.unref();
      }
    },
    async stop() {
      if (timer) clearInterval(timer);
      await engine.close();
    },
  };
  return { service, engine, api, tick };
}

export const { service } = createCodePipeline();
/** A fresh instance for another account and region (local/runtime/partitions.ts). */
export const createService = () => createCodePipeline().service;
