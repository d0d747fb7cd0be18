/**
 * Deploy/CloudFormation against the local CloudFormation (`ctx.call('cloudformation', …)`), with the action
 * modes CodePipeline documents. TemplatePath and TemplateConfiguration are `ArtifactName::path` inside input
 * artifacts; ParameterOverrides is JSON (with `Fn::GetParam`) and wins over the configuration file. Stack
 * outputs become the action's output variables and, with OutputFileName, a JSON file in the output artifact.
 */
import { randomBytes } from 'node:crypto';
import { unzipSync, zipSync } from 'fflate';
import { type ActionResult, failed, type Provider, type ProviderContext } from './provider.ts';

const FAILED_STATES = new Set([
  'ROLLBACK_FAILED',
  'CREATE_FAILED',
  'DELETE_FAILED',
  'UPDATE_ROLLBACK_FAILED',
  'ROLLBACK_COMPLETE',
]);
const SUCCESS = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'IMPORT_COMPLETE']);
const POLL_MS = 500;
const MAX_POLLS = 7200;

type Stack = {
  StackId?: string;
  StackName?: string;
  StackStatus?: string;
  StackStatusReason?: string;
  Outputs?: Array<{ OutputKey?: string; OutputValue?: string }>;
};

class ArtifactFiles {
  readonly #cache = new Map<string, Record<string, Uint8Array>>();
  readonly p: ProviderContext;
  constructor(p: ProviderContext) {
    this.p = p;
  }
  async read(ref: string): Promise<string> {
    const [artifact, ...rest] = ref.split('::');
    const path = rest.join('::');
    if (!artifact || !path) throw new Error(`${ref} must have the form ArtifactName::path/in/artifact`);
    if (!this.p.run.inputArtifacts.some((a) => a.name === artifact))
      throw new Error(`Artifact ${artifact} is not an input artifact of this action`);
    let files = this.#cache.get(artifact);
    if (!files) {
      files = unzipSync(await this.p.readInput(artifact));
      this.#cache.set(artifact, files);
    }
    const file = files[path];
    if (!file) throw new Error(`File ${path} was not found in artifact ${artifact}`);
    return new TextDecoder().decode(file);
  }
}

const isMissing = (err: unknown) => /does not exist/.test((err as Error).message ?? '');

async function describe(p: ProviderContext, name: string): Promise<Stack | undefined> {
  try {
    const out = (await p.ctx.call('cloudformation', 'DescribeStacks', { StackName: name })) as { Stacks?: Stack[] };
    const stack = out.Stacks?.[0];
    return stack && stack.StackStatus !== 'DELETE_COMPLETE' ? stack : undefined;
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

async function waitStack(p: ProviderContext, name: string, deleting = false): Promise<Stack | undefined> {
  for (let i = 0; i < MAX_POLLS; i++) {
    const stack = await describe(p, name);
    if (!stack) return undefined;
    const status = stack.StackStatus ?? '';
    if (!status.endsWith('_IN_PROGRESS') || status === 'REVIEW_IN_PROGRESS') {
      if (!deleting || status === 'DELETE_FAILED') return stack;
    }
    await p.sleep(POLL_MS);
  }
  throw new Error(`Stack ${name} did not reach a final state in time`);
}

type ChangeSet = { Status?: string; StatusReason?: string; ChangeSetId?: string };

/** Polls a change set until it leaves CREATE_PENDING / CREATE_IN_PROGRESS; undefined when it never does. */
async function waitChangeSet(p: ProviderContext, name: string, changeSet: string): Promise<ChangeSet | undefined> {
  for (let i = 0; i < MAX_POLLS; i++) {
    const cs = (await p.ctx.call('cloudformation', 'DescribeChangeSet', {
      StackName: name,
      ChangeSetName: changeSet,
    })) as ChangeSet;
    if (cs.Status === 'CREATE_COMPLETE' || cs.Status === 'FAILED') return cs;
    await p.sleep(POLL_MS);
  }
  return undefined;
}

async function parameters(p: ProviderContext, files: ArtifactFiles) {
  const config = p.run.resolvedConfiguration;
  const params: Record<string, string> = {};
  let tags: Record<string, string> = {};
  if (config.TemplateConfiguration) {
    const doc = JSON.parse(await files.read(config.TemplateConfiguration)) as {
      Parameters?: Record<string, string>;
      Tags?: Record<string, string>;
    };
    Object.assign(params, doc.Parameters ?? {});
    tags = doc.Tags ?? {};
  }
  if (config.ParameterOverrides) {
    const overrides = JSON.parse(config.ParameterOverrides) as Record<string, unknown>;
    for (const [k, v] of Object.entries(overrides)) {
      if (typeof v === 'string') params[k] = v;
      else if (v && typeof v === 'object' && 'Fn::GetParam' in v) {
        const [artifact, file, key] = (v as { 'Fn::GetParam': [string, string, string] })['Fn::GetParam'];
        const doc = JSON.parse(await files.read(`${artifact}::${file}`)) as Record<string, unknown>;
        params[k] = String(doc[key] ?? '');
      } else params[k] = String(v);
    }
  }
  return {
    Parameters: Object.entries(params).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue })),
    Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
  };
}

function common(p: ProviderContext) {
  const config = p.run.resolvedConfiguration;
  return {
    ...(config.Capabilities ? { Capabilities: config.Capabilities.split(',').map((c) => c.trim()) } : {}),
    ...(config.RoleArn ? { RoleARN: config.RoleArn } : {}),
  };
}

function succeeded(p: ProviderContext, stack: Stack | undefined, summary: string): ActionResult {
  const outputs = Object.fromEntries((stack?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  const produced: Record<string, Uint8Array> = {};
  const out = p.run.outputArtifacts[0];
  const fileName = p.run.resolvedConfiguration.OutputFileName;
  if (out)
    produced[out.name] = zipSync(fileName ? { [fileName]: new TextEncoder().encode(JSON.stringify(outputs)) } : {});
  return {
    status: 'Succeeded',
    summary,
    ...(stack?.StackId ? { externalExecutionId: stack.StackId } : {}),
    outputVariables: outputs,
    outputs: produced,
  };
}

async function createOrUpdate(
  p: ProviderContext,
  name: string,
  files: ArtifactFiles,
  replaceOnFailure: boolean,
): Promise<ActionResult> {
  const config = p.run.resolvedConfiguration;
  if (!config.TemplatePath) return failed('ConfigurationError', 'TemplatePath is required');
  const body = await files.read(config.TemplatePath);
  const { Parameters, Tags } = await parameters(p, files);
  let existing = await waitStack(p, name);
  if (existing && replaceOnFailure && FAILED_STATES.has(existing.StackStatus ?? '')) {
    p.log(`[cloudformation] ${name} is ${existing.StackStatus}; deleting it before creating it again`);
    await p.ctx.call('cloudformation', 'DeleteStack', { StackName: name, ...common(p) });
    existing = await waitStack(p, name, true);
    if (existing)
      return failed(
        'JobFailed',
        `Stack ${name} could not be deleted: ${existing.StackStatus} ${existing.StackStatusReason ?? ''}`,
      );
  }
  const input = { StackName: name, TemplateBody: body, Parameters, ...(Tags.length ? { Tags } : {}), ...common(p) };
  if (existing?.StackStatus === 'REVIEW_IN_PROGRESS') {
    // A change set made this stack (e.g. CHANGE_SET_REPLACE on a new stack) and was never executed: it has no
    // template or resources, yet its name is taken, so CreateStack fails with AlreadyExistsException and UpdateStack
    // with ValidationError. Only a CREATE change set can bring it to life; executing one keeps the stack id.
    const changeSet = `CodePipeline-${randomBytes(6).toString('hex')}`;
    await p.ctx.call('cloudformation', 'CreateChangeSet', {
      ...input,
      ChangeSetName: changeSet,
      ChangeSetType: 'CREATE',
    });
    const cs = await waitChangeSet(p, name, changeSet);
    if (cs?.Status !== 'CREATE_COMPLETE')
      return failed(
        'JobFailed',
        `Change set ${changeSet} for stack ${name} failed: ${cs?.StatusReason ?? 'not created in time'}`,
      );
    await p.ctx.call('cloudformation', 'ExecuteChangeSet', { StackName: name, ChangeSetName: changeSet });
  } else if (!existing) {
    await p.ctx.call('cloudformation', 'CreateStack', input);
  } else {
    try {
      await p.ctx.call('cloudformation', 'UpdateStack', input);
    } catch (err) {
      if (/No updates are to be performed/.test((err as Error).message))
        return succeeded(p, existing, `Stack ${name} is up to date`);
      throw err;
    }
  }
  const stack = await waitStack(p, name);
  if (!stack || !SUCCESS.has(stack.StackStatus ?? '')) {
    return {
      ...failed('JobFailed', `Stack ${name} is ${stack?.StackStatus ?? 'gone'}: ${stack?.StackStatusReason ?? ''}`),
      ...(stack?.StackId ? { externalExecutionId: stack.StackId } : {}),
    };
  }
  return succeeded(p, stack, `Stack ${name} is ${stack.StackStatus}`);
}

export const cloudformationProvider: Provider = {
  async run(p) {
    const config = p.run.resolvedConfiguration;
    const name = config.StackName;
    const mode = config.ActionMode;
    if (!name) return failed('ConfigurationError', 'StackName is required');
    const files = new ArtifactFiles(p);
    try {
      switch (mode) {
        case 'CREATE_UPDATE':
          return await createOrUpdate(p, name, files, false);
        case 'REPLACE_ON_FAILURE':
          return await createOrUpdate(p, name, files, true);
        case 'DELETE_ONLY': {
          const existing = await waitStack(p, name);
          if (!existing) return { status: 'Succeeded', summary: `Stack ${name} does not exist; nothing to delete` };
          await p.ctx.call('cloudformation', 'DeleteStack', { StackName: name, ...common(p) });
          const left = await waitStack(p, name, true);
          if (left) return failed('JobFailed', `Stack ${name} is ${left.StackStatus}: ${left.StackStatusReason ?? ''}`);
          return {
            status: 'Succeeded',
            summary: `Stack ${name} was deleted`,
            ...(existing.StackId ? { externalExecutionId: existing.StackId } : {}),
          };
        }
        case 'CHANGE_SET_REPLACE': {
          const changeSet = config.ChangeSetName;
          if (!changeSet || !config.TemplatePath)
            return failed('ConfigurationError', 'ChangeSetName and TemplatePath are required for CHANGE_SET_REPLACE');
          const body = await files.read(config.TemplatePath);
          const { Parameters, Tags } = await parameters(p, files);
          const existing = await waitStack(p, name);
          if (existing)
            await p.ctx
              .call('cloudformation', 'DeleteChangeSet', { StackName: name, ChangeSetName: changeSet })
              .catch(() => undefined);
          const type = existing && existing.StackStatus !== 'REVIEW_IN_PROGRESS' ? 'UPDATE' : 'CREATE';
          await p.ctx.call('cloudformation', 'CreateChangeSet', {
            StackName: name,
            ChangeSetName: changeSet,
            ChangeSetType: type,
            TemplateBody: body,
            Parameters,
            ...(Tags.length ? { Tags } : {}),
            ...common(p),
          });
          const cs = await waitChangeSet(p, name, changeSet);
          if (!cs) return failed('JobFailed', `Change set ${changeSet} was not created in time`);
          if (cs.Status === 'CREATE_COMPLETE')
            return {
              status: 'Succeeded',
              summary: `Change set ${changeSet} created`,
              ...(cs.ChangeSetId ? { externalExecutionId: cs.ChangeSetId } : {}),
            };
          if (/didn't contain changes|No updates/.test(cs.StatusReason ?? ''))
            return { status: 'Succeeded', summary: `Change set ${changeSet} has no changes` };
          return failed('JobFailed', `Change set ${changeSet} failed: ${cs.StatusReason ?? ''}`);
        }
        case 'CHANGE_SET_EXECUTE': {
          const changeSet = config.ChangeSetName;
          if (!changeSet) return failed('ConfigurationError', 'ChangeSetName is required for CHANGE_SET_EXECUTE');
          await p.ctx.call('cloudformation', 'ExecuteChangeSet', { StackName: name, ChangeSetName: changeSet });
          const stack = await waitStack(p, name);
          if (!stack || !SUCCESS.has(stack.StackStatus ?? ''))
            return failed(
              'JobFailed',
              `Stack ${name} is ${stack?.StackStatus ?? 'gone'}: ${stack?.StackStatusReason ?? ''}`,
            );
          return succeeded(p, stack, `Change set ${changeSet} executed; stack ${name} is ${stack.StackStatus}`);
        }
        default:
          return failed(
            'ConfigurationError',
            `ActionMode ${mode ?? '(missing)'} is not one of CREATE_UPDATE, DELETE_ONLY, REPLACE_ON_FAILURE, CHANGE_SET_REPLACE, CHANGE_SET_EXECUTE`,
          );
      }
    } catch (err) {
      return failed('JobFailed', `CloudFormation ${mode} of ${name} failed: ${(err as Error).message}`);
    }
  },
};
