/**
 * Source actions (CodeCommit, CodeStarSourceConnection, S3, ECR) mapped to a local git repository or directory
 * from local configuration. The revision is the commit id (with its message as the summary); the output artifact
 * is `git archive` of that commit. A directory (or a zip file for S3) is used as-is, revisioned by content hash.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { zipSync } from 'fflate';
import { NS } from '../model.ts';
import { run, zipDir } from './fs.ts';
import { failed, type Provider, type ProviderContext } from './provider.ts';

export async function git(repo: string, args: string[]): Promise<string> {
  const out = await run('git', ['-C', repo, ...args], { cwd: repo, capture: true });
  if (out.code !== 0) throw new Error(`git ${args.join(' ')} failed in the local source repository`);
  return out.stdout.toString('utf8').trim();
}

export const isGitRepo = (path: string) =>
  existsSync(path) && statSync(path).isDirectory() && (existsSync(`${path}/.git`) || existsSync(`${path}/HEAD`));

export const branchOf = (provider: string, config: Record<string, string>) =>
  provider === 'S3' || provider === 'ECR' ? undefined : (config.BranchName ?? 'main');

/** The commit the watched branch points at. */
export const headOf = (repo: string, branch: string) => git(repo, ['rev-parse', `refs/heads/${branch}`]);

function sourceName(provider: string, config: Record<string, string>): string {
  if (provider === 'CodeStarSourceConnection') return config.FullRepositoryId ?? '';
  if (provider === 'S3') return `${config.S3Bucket}/${config.S3ObjectKey}`;
  return config.RepositoryName ?? '';
}

function outputName(p: ProviderContext): string {
  return p.run.outputArtifacts[0]?.name ?? '';
}

async function fromGit(p: ProviderContext, repo: string, branch: string) {
  const provider = p.action.actionTypeId.provider;
  const config = p.run.resolvedConfiguration;
  const pinned = p.exec.sourceRevisions[p.action.name];
  const commit = pinned ?? (await headOf(repo, branch));
  const [message, authorDate, committerDate] = (
    await git(repo, ['log', '-1', '--format=%s%x00%aI%x00%cI', commit])
  ).split('\0');
  const archive = await run('git', ['-C', repo, 'archive', '--format=zip', commit], { cwd: repo, capture: true });
  if (archive.code !== 0) throw new Error(`git archive ${commit} failed`);
  // The first run of a new pipeline is where the watcher starts from.
  const heads = p.ctx.store.get<Record<string, string>>(NS.sourceHeads, p.exec.pipelineName) ?? {};
  if (!heads[p.action.name])
    p.ctx.store.put(NS.sourceHeads, p.exec.pipelineName, { ...heads, [p.action.name]: commit });
  const variables: Record<string, string> = {
    CommitId: commit,
    CommitMessage: message ?? '',
    BranchName: branch,
    AuthorDate: authorDate ?? '',
    CommitterDate: committerDate ?? '',
  };
  if (provider === 'CodeStarSourceConnection') {
    Object.assign(variables, {
      FullRepositoryId: config.FullRepositoryId ?? '',
      ConnectionArn: config.ConnectionArn ?? '',
      ProviderType: 'GitHub',
    });
  } else variables.RepositoryName = config.RepositoryName ?? '';
  p.log(`[source] ${sourceName(provider, config)}@${branch} → ${commit} ${message}`);
  return {
    status: 'Succeeded' as const,
    summary: message ?? commit,
    externalExecutionId: commit,
    outputVariables: variables,
    outputs: { [outputName(p)]: new Uint8Array(archive.stdout) },
    // `created`: when the revision was made; for a commit, its committer date (GetPipelineExecution's artifactRevisions).
    revision: {
      revisionId: commit,
      revisionSummary: message ?? '',
      ...(committerDate ? { created: committerDate } : {}),
    },
  };
}

function fromPath(p: ProviderContext, path: string) {
  const bytes = statSync(path).isDirectory()
    ? zipDir(path, (rel) => rel === '.git' || rel.startsWith('.git/'))
    : readFileSync(path);
  const revision = createHash('sha256').update(bytes).digest('hex').slice(0, 32);
  const provider = p.action.actionTypeId.provider;
  const variables: Record<string, string> =
    provider === 'S3'
      ? {
          VersionId: revision,
          ETag: revision,
          BucketName: p.run.resolvedConfiguration.S3Bucket ?? '',
          ObjectKey: p.run.resolvedConfiguration.S3ObjectKey ?? '',
        }
      : { CommitId: revision };
  p.log(`[source] ${path} (not a git repository) → content revision ${revision}`);
  return {
    status: 'Succeeded' as const,
    summary: `Local source ${sourceName(provider, p.run.resolvedConfiguration)}`,
    externalExecutionId: revision,
    outputVariables: variables,
    outputs: { [outputName(p)]: new Uint8Array(bytes) },
    revision: {
      revisionId: revision,
      revisionSummary: `content of ${sourceName(provider, p.run.resolvedConfiguration)}`,
    },
  };
}

function fromEcr(p: ProviderContext) {
  const config = p.run.resolvedConfiguration;
  const tag = config.ImageTag ?? 'latest';
  const uri = `${p.ctx.accountId}.dkr.ecr.${p.ctx.region}.amazonaws.com/${config.RepositoryName}:${tag}`;
  const digest = `sha256:${createHash('sha256').update(uri).digest('hex')}`;
  p.log(`[source] ECR is simulated locally: ${uri}`);
  const detail = JSON.stringify({
    ImageURI: uri,
    ImageTags: [tag],
    RegistryId: p.ctx.accountId,
    RepositoryName: config.RepositoryName,
    ImageDigest: digest,
  });
  return {
    status: 'Succeeded' as const,
    summary: `Simulated ECR image ${uri}`,
    externalExecutionId: digest,
    outputVariables: {
      RepositoryName: config.RepositoryName ?? '',
      ImageTag: tag,
      ImageURI: uri,
      ImageDigest: digest,
      RegistryId: p.ctx.accountId,
    },
    outputs: { [outputName(p)]: zipSync({ 'imageDetail.json': new TextEncoder().encode(detail) }) },
    revision: { revisionId: digest, revisionSummary: uri },
  };
}

/**
 * An S3 source whose bucket exists in the local S3 reads the object from there, as CodePipeline reads it from S3:
 * the object (a zip) is the artifact, its version id (or ETag) the revision. `undefined` when the bucket is not local.
 */
async function fromLocalS3(p: ProviderContext) {
  const config = p.run.resolvedConfiguration;
  const bucket = config.S3Bucket ?? '';
  const key = config.S3ObjectKey ?? '';
  try {
    await p.ctx.call('s3', 'HeadBucket', { Bucket: bucket });
  } catch {
    return undefined;
  }
  let object: { Body?: unknown; ETag?: string; VersionId?: string };
  try {
    object = (await p.ctx.call('s3', 'GetObject', { Bucket: bucket, Key: key })) as typeof object;
  } catch (err) {
    return failed(
      'ConfigurationError',
      `Could not read s3://${bucket}/${key} from the local S3: ${(err as Error).message}`,
    );
  }
  const bytes =
    object.Body instanceof Uint8Array ? object.Body : new Uint8Array(Buffer.from(String(object.Body ?? '')));
  const etag = String(object.ETag ?? '').replace(/"/g, '');
  const revision = object.VersionId ?? etag;
  p.log(`[source] s3://${bucket}/${key} (local S3) → ${revision}`);
  return {
    status: 'Succeeded' as const,
    summary: `Amazon S3 object s3://${bucket}/${key}`,
    externalExecutionId: revision,
    outputVariables: {
      BucketName: bucket,
      ObjectKey: key,
      ETag: etag,
      ...(object.VersionId ? { VersionId: object.VersionId } : {}),
    },
    outputs: { [outputName(p)]: bytes },
    revision: { revisionId: revision, revisionSummary: `s3://${bucket}/${key}` },
  };
}

export const sourceProvider: Provider = {
  async run(p) {
    const provider = p.action.actionTypeId.provider;
    const config = p.run.resolvedConfiguration;
    if (provider === 'S3') {
      const local = await fromLocalS3(p);
      if (local) return local;
    }
    const path = p.env.resolveSource(provider, config);
    if (!path) {
      if (provider === 'ECR') return fromEcr(p);
      return failed(
        'ConfigurationError',
        `No local source is configured for ${provider} ${sourceName(provider, config)}: map it in the file named by STAGECREW_SOURCES or place it under .stagecrew/repos/`,
      );
    }
    const branch = branchOf(provider, config);
    if (branch && isGitRepo(path)) {
      try {
        return await fromGit(p, path, branch);
      } catch (err) {
        return failed('RevisionUnavailable', `Could not read branch ${branch} of ${path}: ${(err as Error).message}`);
      }
    }
    return fromPath(p, path);
  },
};
