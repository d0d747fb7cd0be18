/**
 * Deploy providers without a local service behind them. CodeDeploy: the artifact's appspec.yml `files` are
 * copied under `<deployDir>/codedeploy/<application>/<deployment group>/` and its `hooks` scripts run there.
 * S3: the artifact is extracted (or stored as one object) under `<deployDir>/s3/<bucket>/`. ECS, Elastic
 * Beanstalk and other deploy targets succeed with a log line that says they were simulated.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, normalize } from 'node:path';
import { parse } from 'yaml';
import { newId } from '../model.ts';
import { run, unzipTo } from './fs.ts';
import { failed, type Provider } from './provider.ts';

type Hook = { location: string; timeout?: number; runas?: string };
type AppSpec = {
  version?: number;
  os?: string;
  files?: Array<{ source: string; destination: string }>;
  hooks?: Record<string, Hook[]>;
};

const HOOK_ORDER = ['BeforeInstall', 'AfterInstall', 'ApplicationStart', 'ValidateService'];

/** Joins an absolute path from an appspec onto a local root, refusing `..` escapes. */
function under(root: string, path: string): string {
  const target = normalize(join(root, path));
  if (target !== normalize(root) && !target.startsWith(`${normalize(root)}/`))
    throw new Error(`Path ${path} escapes the deployment root`);
  return target;
}

export const codedeployProvider: Provider = {
  async run(p) {
    const config = p.run.resolvedConfiguration;
    const deploymentId = `d-${newId().replace(/-/g, '').slice(0, 9).toUpperCase()}`;
    const target = join(
      p.env.deployDir,
      'codedeploy',
      config.ApplicationName ?? 'application',
      config.DeploymentGroupName ?? 'group',
    );
    const bundle = join(p.env.workDir, p.run.actionExecutionId, 'bundle');
    rmSync(bundle, { recursive: true, force: true });
    const tail: string[] = [];
    const log = (line: string) => {
      tail.push(line);
      if (tail.length > 30) tail.shift();
      p.log(line);
    };
    try {
      unzipTo(await p.readInput(), bundle);
      const specFile = ['appspec.yml', 'appspec.yaml'].map((f) => join(bundle, f)).find(existsSync);
      if (!specFile)
        return {
          ...failed('JobFailed', 'The deployment bundle has no appspec.yml at its root'),
          externalExecutionId: deploymentId,
        };
      const spec = (parse(readFileSync(specFile, 'utf8')) ?? {}) as AppSpec;
      if (spec.hooks?.ApplicationStop)
        log('[codedeploy] ApplicationStop runs from the previous revision on AWS; skipped locally');
      const env = {
        ...process.env,
        DEPLOYMENT_ROOT: target,
        DEPLOYMENT_ID: deploymentId,
        APPLICATION_NAME: config.ApplicationName ?? '',
        DEPLOYMENT_GROUP_NAME: config.DeploymentGroupName ?? '',
      };
      const runHooks = async (event: string) => {
        for (const hook of spec.hooks?.[event] ?? []) {
          const script = under(bundle, hook.location);
          log(`[codedeploy] ${event}: ${hook.location}`);
          const r = await run('bash', [script], {
            cwd: bundle,
            env: { ...env, LIFECYCLE_EVENT: event },
            onLine: log,
            signal: p.signal,
            timeoutMs: (hook.timeout ?? 3600) * 1000,
          });
          if (r.code !== 0) throw new Error(`Script ${hook.location} failed in ${event} with exit code ${r.code}`);
        }
      };
      await runHooks('BeforeInstall');
      for (const f of spec.files ?? []) {
        const from = under(bundle, f.source === '/' ? '.' : f.source);
        const to = under(target, f.destination);
        // As in CodeDeploy, a destination is a directory: a file source lands in it, a directory's content is merged.
        mkdirSync(to, { recursive: true });
        if (statSync(from).isDirectory()) cpSync(from, to, { recursive: true });
        else cpSync(from, join(to, basename(from)));
        log(`[codedeploy] Install: ${f.source} → ${to}`);
      }
      for (const event of HOOK_ORDER.slice(1)) await runHooks(event);
      return {
        status: 'Succeeded',
        summary: `Deployment ${deploymentId} succeeded`,
        externalExecutionId: deploymentId,
      };
    } catch (err) {
      return {
        ...failed('JobFailed', `Deployment ${deploymentId} failed: ${(err as Error).message}\n${tail.join('\n')}`),
        externalExecutionId: deploymentId,
      };
    } finally {
      rmSync(join(p.env.workDir, p.run.actionExecutionId), { recursive: true, force: true });
    }
  },
};

export const s3DeployProvider: Provider = {
  async run(p) {
    const config = p.run.resolvedConfiguration;
    if (!config.BucketName) return failed('ConfigurationError', 'BucketName is required for S3 deploy actions');
    const extract = (config.Extract ?? 'true').toLowerCase() === 'true';
    const root = join(p.env.deployDir, 's3', config.BucketName);
    const bytes = await p.readInput();
    if (extract) {
      const dir = under(root, config.ObjectKey ?? '');
      const files = unzipTo(bytes, dir);
      p.log(`[s3] extracted ${files.length} file(s) into ${dir}`);
      return {
        status: 'Succeeded',
        summary: `Extracted ${files.length} file(s) to s3://${config.BucketName}/${config.ObjectKey ?? ''}`,
      };
    }
    if (!config.ObjectKey) return failed('ConfigurationError', 'ObjectKey is required when Extract is false');
    const file = under(root, config.ObjectKey);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, bytes);
    return { status: 'Succeeded', summary: `Uploaded s3://${config.BucketName}/${config.ObjectKey}` };
  },
};

export const simulatedDeployProvider: Provider = {
  async run(p) {
    const t = p.action.actionTypeId;
    const line = `${t.provider} deployments are simulated by the local cloud: nothing was deployed (configuration: ${Object.keys(p.run.resolvedConfiguration).join(', ') || 'none'})`;
    p.log(`[${t.provider.toLowerCase()}] ${line}`);
    p.ctx.log.info('codepipeline simulated deploy', {
      provider: t.provider,
      pipeline: p.exec.pipelineName,
      action: p.action.name,
    });
    return { status: 'Succeeded', summary: line.slice(0, 2048) };
  },
};
