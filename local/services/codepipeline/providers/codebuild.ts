/**
 * Build/Test CodeBuild: runs the primary input artifact's buildspec (version 0.2) on this machine, in a fresh
 * working directory. Phases install → pre_build → build → post_build run in one shell environment (variables
 * and the working directory carry over, as in CodeBuild); a failed build phase still runs post_build. The log
 * goes to the store line by line; a failure carries the log tail; `artifacts.files` become the output artifact.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { globMatch } from '../engine/glob.ts';
import { newId } from '../model.ts';
import { run, unzipTo, walk, zipFiles } from './fs.ts';
import { failed, type Provider, type ProviderContext } from './provider.ts';

type Phase = {
  commands?: string[];
  finally?: string[];
  'on-failure'?: string;
  'runtime-versions'?: Record<string, unknown>;
};
type Buildspec = {
  version?: number | string;
  env?: { variables?: Record<string, unknown>; 'exported-variables'?: string[]; shell?: string };
  phases?: Partial<Record<'install' | 'pre_build' | 'build' | 'post_build', Phase>>;
  artifacts?: {
    files?: string[] | string;
    'base-directory'?: string;
    'discard-paths'?: string | boolean;
    name?: string;
  };
};

const PHASES = ['install', 'pre_build', 'build', 'post_build'] as const;
const TAIL_LINES = 30;
const DEFAULT_TIMEOUT_MS = 60 * 60_000;

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** One phase as a bash script: restore the environment and cwd, run commands, save both. */
function phaseScript(name: string, phase: Phase, stateDir: string): string {
  const lines = [
    'set -a',
    `[ -f ${quote(`${stateDir}/env`)} ] && . ${quote(`${stateDir}/env`)}`,
    `cd "$(cat ${quote(`${stateDir}/cwd`)})"`,
    'set -e',
    `echo "[Container] Entering phase ${name.toUpperCase()}"`,
  ];
  for (const cmd of phase.commands ?? []) {
    if (typeof cmd !== 'string')
      throw new Error(`buildspec: a command in phase ${name} is not a string (quote commands that contain ": ")`);
    lines.push(`echo ${quote(`[Container] Running command ${cmd}`)}`, cmd);
  }
  lines.push('set +e', `export -p > ${quote(`${stateDir}/env`)}`, `pwd > ${quote(`${stateDir}/cwd`)}`);
  return `${lines.join('\n')}\n`;
}

async function resolveEnvVars(p: ProviderContext): Promise<Record<string, string>> {
  const raw = p.run.resolvedConfiguration.EnvironmentVariables;
  if (!raw) return {};
  const list = JSON.parse(raw) as Array<{ name: string; value: string; type?: string }>;
  const out: Record<string, string> = {};
  for (const v of list) {
    if (!v.type || v.type === 'PLAINTEXT') out[v.name] = v.value;
    else if (v.type === 'PARAMETER_STORE') {
      const r = (await p.ctx.call('ssm', 'GetParameter', { Name: v.value, WithDecryption: true })) as {
        Parameter?: { Value?: string };
      };
      out[v.name] = r.Parameter?.Value ?? '';
    } else if (v.type === 'SECRETS_MANAGER') {
      const r = (await p.ctx.call('secretsmanager', 'GetSecretValue', { SecretId: v.value })) as {
        SecretString?: string;
      };
      out[v.name] = r.SecretString ?? '';
    } else throw new Error(`Environment variable ${v.name} has unknown type ${v.type}`);
  }
  return out;
}

function readEnvFile(stateDir: string): Promise<Record<string, string>> {
  return run('bash', ['-c', `set -a; . ${quote(`${stateDir}/env`)} 2>/dev/null; env -0`], {
    cwd: stateDir,
    capture: true,
  }).then((r) => {
    const out: Record<string, string> = {};
    for (const pair of r.stdout.toString('utf8').split('\0')) {
      const i = pair.indexOf('=');
      if (i > 0) out[pair.slice(0, i)] = pair.slice(i + 1);
    }
    return out;
  });
}

function collectArtifacts(spec: Buildspec, srcDir: string): Array<{ path: string; source: string }> {
  const a = spec.artifacts;
  if (!a?.files) return [];
  const base = a['base-directory'] ? join(srcDir, a['base-directory']) : srcDir;
  if (!existsSync(base)) throw new Error(`CLIENT_ERROR: base directory ${a['base-directory']} does not exist`);
  const patterns = Array.isArray(a.files) ? a.files : [a.files];
  const discard = a['discard-paths'] === true || a['discard-paths'] === 'yes';
  const all = walk(base);
  const picked = all.filter((f) => patterns.some((g) => globMatch(g, f)));
  return picked.map((f) => ({ path: discard ? (f.split('/').pop() as string) : f, source: join(base, f) }));
}

export const codebuildProvider: Provider = {
  async run(p) {
    const buildId = `${p.run.resolvedConfiguration.ProjectName ?? 'local'}:${newId()}`;
    const root = join(p.env.workDir, p.run.actionExecutionId);
    rmSync(root, { recursive: true, force: true });
    const srcDir = join(root, 'src');
    const stateDir = join(root, 'state');
    mkdirSync(stateDir, { recursive: true });
    const tail: string[] = [];
    const log = (line: string) => {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      p.log(line);
    };
    const fail = (message: string) => ({
      ...failed('JobFailed', `${message}\n${tail.join('\n')}`),
      externalExecutionId: buildId,
    });
    try {
      unzipTo(await p.readInput(), srcDir);
      for (const extra of p.run.inputArtifacts.slice(1))
        unzipTo(await p.readInput(extra.name), join(root, 'src2', extra.name));
      const specPath = ['buildspec.yml', 'buildspec.yaml'].map((f) => join(srcDir, f)).find(existsSync);
      if (!specPath) return fail('CLIENT_ERROR: no buildspec.yml or buildspec.yaml in the source artifact');
      const spec = (parse(readFileSync(specPath, 'utf8')) ?? {}) as Buildspec;
      if (String(spec.version ?? '') !== '0.2')
        log(`[Container] buildspec version ${spec.version ?? '(none)'}; running it with version 0.2 semantics`);
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? root,
        LANG: 'C.UTF-8',
        CODEBUILD_BUILD_ID: buildId,
        CODEBUILD_BUILD_ARN: `arn:aws:codebuild:${p.ctx.region}:${p.ctx.accountId}:build/${buildId}`,
        CODEBUILD_INITIATOR: `codepipeline/${p.exec.pipelineName}`,
        CODEBUILD_SRC_DIR: srcDir,
        CODEBUILD_BUILD_SUCCEEDING: '1',
        CODEBUILD_RESOLVED_SOURCE_VERSION: p.run.inputArtifacts[0]?.revisionId ?? '',
        AWS_REGION: p.ctx.region,
        AWS_DEFAULT_REGION: p.ctx.region,
        ...Object.fromEntries(Object.entries(spec.env?.variables ?? {}).map(([k, v]) => [k, String(v)])),
        ...(await resolveEnvVars(p)),
      };
      for (const extra of p.run.inputArtifacts.slice(1))
        env[`CODEBUILD_SRC_DIR_${extra.name}`] = join(root, 'src2', extra.name);
      writeFileSync(join(stateDir, 'cwd'), srcDir);
      writeFileSync(
        join(stateDir, 'env'),
        Object.entries(env)
          .map(([k, v]) => `export ${k}=${quote(v)}`)
          .join('\n'),
      );
      let failure: string | undefined;
      for (const name of PHASES) {
        const phase = spec.phases?.[name];
        if (phase?.['runtime-versions']) {
          log(
            `[Container] runtime-versions ${JSON.stringify(phase['runtime-versions'])} ignored locally: this machine's tools are used`,
          );
        }
        if (!phase?.commands?.length) continue;
        if (failure && name !== 'post_build') continue;
        if (failure)
          writeFileSync(
            join(stateDir, 'env'),
            `${readFileSync(join(stateDir, 'env'), 'utf8')}\nexport CODEBUILD_BUILD_SUCCEEDING=0\n`,
          );
        const script = join(stateDir, `${name}.sh`);
        writeFileSync(script, phaseScript(name, phase, stateDir));
        const result = await run('bash', [script], {
          cwd: srcDir,
          env,
          onLine: log,
          signal: p.signal,
          timeoutMs: DEFAULT_TIMEOUT_MS,
        });
        if (phase.finally?.length && !p.signal.aborted) {
          writeFileSync(script, phaseScript(`${name} finally`, { commands: phase.finally }, stateDir));
          const fin = await run('bash', [script], {
            cwd: srcDir,
            env,
            onLine: log,
            signal: p.signal,
            timeoutMs: DEFAULT_TIMEOUT_MS,
          });
          if (fin.code !== 0 && result.code === 0) result.code = fin.code;
        }
        if (p.signal.aborted) return fail('The build was stopped');
        if (result.code !== 0) {
          log(`[Container] Phase ${name.toUpperCase()} failed: exit status ${result.code}`);
          failure ??= `Error in ${name.toUpperCase()} phase: exit status ${result.code}`;
        } else log(`[Container] Phase complete: ${name.toUpperCase()} State: SUCCEEDED`);
      }
      if (failure) return fail(`Build failed. ${failure}. Log tail:`);
      const finalEnv = await readEnvFile(stateDir);
      const exported = Object.fromEntries((spec.env?.['exported-variables'] ?? []).map((k) => [k, finalEnv[k] ?? '']));
      const outputs: Record<string, Uint8Array> = {};
      const primary = p.run.outputArtifacts[0];
      if (primary) {
        const files = collectArtifacts(spec, srcDir);
        if (!files.length) return fail('CLIENT_ERROR: no matching artifact paths found');
        outputs[primary.name] = zipFiles(files);
        log(`[Container] Uploading ${files.length} artifact file(s) as ${primary.name}`);
      }
      return {
        status: 'Succeeded',
        summary: 'Build succeeded',
        externalExecutionId: buildId,
        outputVariables: exported,
        outputs,
      };
    } catch (err) {
      return fail(`Build failed: ${(err as Error).message}`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
};
