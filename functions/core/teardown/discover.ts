import { NotAMemberAccountError } from '../organization/errors.ts';
import type { Location } from '../organization/location.ts';
import type { ActionExecutionInfo } from '../ports.ts';
import type { Item, Run } from './model.ts';
import { STACK_ARN } from './model.ts';
import type { DeployActions, DeployedStack, TeardownStacks, TeardownStore } from './ports.ts';

/** Map items per run: a bounded payload (Step Functions' 256 KB state limit) and a bounded report. */
export const MAX_STACKS = 100;

type Found = { stackId: string; stackName?: string; source: Item['source']; resolved: boolean; refused?: string };

/**
 * The stacks one run considers, each with the StackId captured now (every later call is by id, H1):
 * - a sweep: exactly the stacks the sweeper named;
 * - an execution: its registrations (register-test-stack) and the StackNames of its CloudFormation deploy actions
 *   (resolved configuration), looked up by name. A name that resolves to no stack is kept as `resolved: false`
 *   and reported ALREADY_GONE; a name that resolves to someone else's stack is refused later by the ownership
 *   check, never here.
 */
export const discoverStacks = async (
  run: Run,
  deps: {
    store: TeardownStore;
    actions: DeployActions;
    /**
     * The stacks of a location (the one a cross-account or cross-region action names, else the pipeline's); a part
     * left out is the hub's own account or region.
     */
    stacksAt: (where: Partial<Location>) => Promise<TeardownStacks>;
  },
): Promise<Item[]> => {
  const found = new Map<string, Found>();
  const add = (f: Found) => {
    if (!found.has(f.stackId)) found.set(f.stackId, f);
  };
  if (run.sweep) {
    for (const s of run.stacks ?? [])
      add({ stackId: s.stackId, stackName: s.stackName, source: 'sweep', resolved: true });
    return toItems(run, found, run.stacks ?? []);
  }
  const pipeline = run.pipeline ?? '';
  const executionId = run.executionId ?? '';
  for (const r of await deps.store.registrations(pipeline, executionId)) {
    add({ stackId: r.stackId, stackName: r.stackName, source: 'registration', resolved: true });
  }
  for (const a of await deps.actions.stacksOf(pipeline, executionId, run.where)) {
    if (a.externalExecutionId && STACK_ARN.test(a.externalExecutionId)) {
      add({ stackId: a.externalExecutionId, stackName: a.stackName, source: 'action', resolved: true });
      continue;
    }
    if ([...found.values()].some((f) => f.stackName === a.stackName)) continue;
    // By name, where the action deployed: its region and its role's account, else the pipeline's (else home).
    const where = {
      accountId: a.accountId ?? run.where?.accountId,
      region: a.region ?? run.where?.region,
    };
    let stack: Awaited<ReturnType<TeardownStacks['describe']>>;
    try {
      stack = await (await deps.stacksAt(where)).describe(a.stackName);
    } catch (err) {
      if (!(err instanceof NotAMemberAccountError)) throw err;
      add({
        stackId: `name:${a.stackName}`,
        stackName: a.stackName,
        source: 'action',
        resolved: false,
        refused: err.message,
      });
      continue;
    }
    if (stack) add({ stackId: stack.stackId, stackName: stack.stackName, source: 'action', resolved: true });
    else add({ stackId: `name:${a.stackName}`, stackName: a.stackName, source: 'action', resolved: false });
  }
  return toItems(run, found, []);
};

const toItems = (run: Run, found: Map<string, Found>, sweep: NonNullable<Run['stacks']>): Item[] =>
  [...found.values()].slice(0, MAX_STACKS).map((f) => {
    const owner = sweep.find((s) => s.stackId === f.stackId);
    return {
      runId: run.runId,
      pipeline: owner?.pipeline ?? run.pipeline ?? '',
      executionId: owner?.executionId ?? run.executionId ?? '',
      reason: run.reason,
      dryRun: run.dryRun,
      policy: run.policy,
      stackId: f.stackId,
      ...(f.stackName ? { stackName: f.stackName } : {}),
      source: f.source,
      resolved: f.resolved,
      ...(f.refused ? { refused: f.refused } : {}),
      attempt: 0,
      mode: 'STANDARD',
      waitSeconds: 30,
      awaitSeconds: 300,
      polls: 0,
      failedResources: [],
      orphans: [],
      remediated: [],
    };
  });

/**
 * The stacks a pipeline execution deployed: its CloudFormation deploy actions that name a stack (resolved
 * configuration), with the stack id when the action reported one (an ARN in `externalExecutionId`).
 */
export const deployedStacks = (actions: readonly ActionExecutionInfo[]): DeployedStack[] =>
  actions
    .filter((a) => a.category === 'Deploy' && a.provider === 'CloudFormation' && a.configuration?.StackName)
    .map((a) => {
      const roleAccount = /^arn:aws[\w-]*:iam::(\d{12}):role\//.exec(a.roleArn ?? '')?.[1];
      return {
        stackName: a.configuration?.StackName ?? '',
        ...(a.externalExecutionId ? { externalExecutionId: a.externalExecutionId } : {}),
        ...(a.region ? { region: a.region } : {}),
        ...(roleAccount ? { accountId: roleAccount } : {}),
      };
    });
