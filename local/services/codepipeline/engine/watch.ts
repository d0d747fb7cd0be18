/**
 * "A commit on the watched branch starts an execution": polls every git-backed Source action, and when its
 * branch moved, applies the V2 trigger filters (branches, file paths) and starts an execution pinned to it.
 *
 * Change detection follows the action's configuration, as on AWS (CodePipeline user guide, "Valid settings for the
 * PollForSourceChanges parameter"): CodeCommit polls unless `PollForSourceChanges` is `false` (it defaults to true
 * for a pipeline created through the API); with `false`, only an EventBridge rule that targets the pipeline starts
 * it. A connection (CodeStarSourceConnection) starts it unless `DetectChanges` is `false`.
 */
import type { Api } from '../api/operations.ts';
import { NS, type PipelineRecord } from '../model.ts';
import { branchOf, git, headOf, isGitRepo } from '../providers/source.ts';
import type { Engine } from './engine.ts';
import { filterMatches } from './glob.ts';

export async function pollSources(engine: Engine, api: Api): Promise<string[]> {
  const ctx = engine.context;
  const started: string[] = [];
  for (const [name, record] of ctx.store.list<PipelineRecord>(NS.pipelines)) {
    const sources = record.declaration.stages[0]?.actions ?? [];
    for (const action of sources) {
      const provider = action.actionTypeId.provider;
      const config = action.configuration ?? {};
      const branch = branchOf(provider, config);
      if (!branch) continue;
      const repo = engine.env.resolveSource(provider, config);
      if (!repo || !isGitRepo(repo)) continue;
      let head: string;
      try {
        head = await headOf(repo, branch);
      } catch {
        continue; // branch not there yet
      }
      const heads = ctx.store.get<Record<string, string>>(NS.sourceHeads, name) ?? {};
      const last = heads[action.name];
      if (last === head) continue;
      ctx.store.put(NS.sourceHeads, name, { ...heads, [action.name]: head });
      if (!last) continue; // first sight: nothing changed since the pipeline started watching
      // Asked only when the branch moved: the poll runs every second.
      const triggerType = await detection(engine, record, provider, config);
      if (triggerType === undefined) {
        ctx.log.info('codepipeline source change not detected: change detection is off for this action', {
          pipeline: name,
          action: action.name,
          head,
        });
        continue;
      }
      const triggers = (record.declaration.triggers ?? []).filter(
        (t) => t.gitConfiguration?.sourceActionName === action.name,
      );
      if (triggers.length) {
        const files = (await git(repo, ['diff', '--name-only', last, head]).catch(() => ''))
          .split('\n')
          .filter(Boolean);
        const pushes = triggers.flatMap((t) => t.gitConfiguration.push ?? []);
        const match = pushes.some(
          (push) => filterMatches(push.branches, [branch]) && (!push.filePaths || filterMatches(push.filePaths, files)),
        );
        if (!match) {
          ctx.log.info('codepipeline source change filtered out by trigger', {
            pipeline: name,
            action: action.name,
            head,
          });
          continue;
        }
      }
      const current = ctx.store.get<PipelineRecord>(NS.pipelines, name);
      if (!current) continue;
      const repoName = provider === 'CodeStarSourceConnection' ? config.FullRepositoryId : config.RepositoryName;
      const id = api.start(
        ctx,
        current,
        {
          triggerType,
          triggerDetail:
            provider === 'CodeCommit'
              ? `arn:aws:codecommit:${ctx.region}:${ctx.accountId}:${repoName}`
              : `${repoName}@${branch}`,
        },
        undefined,
        { [action.name]: head },
      );
      started.push(id);
    }
  }
  return started;
}

/** How a change of this source action reaches the pipeline, or `undefined` when nothing would start it. */
async function detection(
  engine: Engine,
  record: PipelineRecord,
  provider: string,
  config: Record<string, string>,
): Promise<string | undefined> {
  if (provider === 'CodeStarSourceConnection') return config.DetectChanges === 'false' ? undefined : 'Webhook';
  if (config.PollForSourceChanges !== 'false') return 'PollForSourceChanges';
  try {
    const out = (await engine.context.call('eventbridge', 'ListRuleNamesByTarget', { TargetArn: record.arn })) as {
      RuleNames?: string[];
    };
    return (out.RuleNames ?? []).length > 0 ? 'CloudWatchEvent' : undefined;
  } catch {
    return undefined;
  }
}
