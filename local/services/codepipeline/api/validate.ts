/**
 * Structural checks CodePipeline applies to CreatePipeline/UpdatePipeline, with AWS's error codes: shape and
 * pattern problems are ValidationException, semantic problems (artifact wiring, duplicate names, a Source stage
 * that is not first) are InvalidStructureException.
 */
import { AwsError } from '../../types.ts';
import type { ActionDeclaration, PipelineDeclaration } from '../model.ts';

const NAME = /^[A-Za-z0-9.@\-_]{1,100}$/;
const ARTIFACT_NAME = /^[a-zA-Z0-9_-]{1,100}$/;
const CATEGORIES = new Set(['Source', 'Build', 'Deploy', 'Test', 'Invoke', 'Approval', 'Compute']);
const OWNERS = new Set(['AWS', 'ThirdParty', 'Custom']);
const MODES = new Set(['SUPERSEDED', 'QUEUED', 'PARALLEL']);

export const validation = (message: string) => new AwsError('ValidationException', message);
const structure = (message: string) => new AwsError('InvalidStructureException', message);

export function requireName(value: unknown, field: string): string {
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw validation(
      `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9.@\\-_]+`,
    );
  }
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkAction(action: ActionDeclaration, where: string): void {
  if (!isObject(action)) throw validation(`${where} must be an object`);
  requireName(action.name, `${where}.name`);
  const t = action.actionTypeId;
  if (!isObject(t)) throw validation(`${where}.actionTypeId is required`);
  if (!CATEGORIES.has(t.category)) throw validation(`${where}.actionTypeId.category '${t.category}' is not valid`);
  if (!OWNERS.has(t.owner)) throw validation(`${where}.actionTypeId.owner '${t.owner}' is not valid`);
  if (typeof t.provider !== 'string' || t.provider === '')
    throw validation(`${where}.actionTypeId.provider is required`);
  if (typeof t.version !== 'string' || t.version === '') throw validation(`${where}.actionTypeId.version is required`);
  if (
    action.runOrder !== undefined &&
    (!Number.isInteger(action.runOrder) || action.runOrder < 1 || action.runOrder > 999)
  ) {
    throw validation(`${where}.runOrder must be an integer between 1 and 999`);
  }
  if (action.configuration !== undefined) {
    if (!isObject(action.configuration)) throw validation(`${where}.configuration must be a map of strings`);
    for (const [k, v] of Object.entries(action.configuration)) {
      if (typeof v !== 'string' || v.length > 1000)
        throw validation(`${where}.configuration.${k} must be a string of 1-1000 characters`);
    }
  }
  for (const list of ['inputArtifacts', 'outputArtifacts'] as const) {
    const refs = action[list];
    if (refs === undefined) continue;
    if (!Array.isArray(refs)) throw validation(`${where}.${list} must be a list`);
    for (const ref of refs) {
      if (!isObject(ref) || typeof ref.name !== 'string' || !ARTIFACT_NAME.test(ref.name)) {
        throw validation(`${where}.${list}[].name must match [a-zA-Z0-9_\\-]+`);
      }
    }
  }
  if (action.timeoutInMinutes !== undefined) {
    if (t.category !== 'Approval')
      throw structure(`${where}: timeoutInMinutes is available only for the manual approval action type`);
    if (!Number.isInteger(action.timeoutInMinutes) || action.timeoutInMinutes < 5 || action.timeoutInMinutes > 86_400) {
      throw validation(`${where}.timeoutInMinutes must be between 5 and 86400`);
    }
  }
  if (t.category === 'Approval' && (action.inputArtifacts?.length || action.outputArtifacts?.length)) {
    throw structure(`Approval action ${action.name} cannot have input or output artifacts`);
  }
}

/** Validates a declaration as CreatePipeline/UpdatePipeline take it and returns it with defaults filled in. */
export function validatePipeline(input: unknown): PipelineDeclaration {
  if (!isObject(input))
    throw validation(
      "1 validation error detected: Value null at 'pipeline' failed to satisfy constraint: Member must not be null",
    );
  const p = input as unknown as PipelineDeclaration;
  requireName(p.name, 'pipeline.name');
  if (typeof p.roleArn !== 'string' || !p.roleArn.startsWith('arn:'))
    throw validation("Value at 'pipeline.roleArn' must be an IAM role ARN");
  if (!p.artifactStore && !p.artifactStores)
    throw structure('Pipeline must have either artifactStore or artifactStores');
  if (p.artifactStore && p.artifactStores)
    throw structure('Pipeline cannot have both artifactStore and artifactStores');
  if (p.artifactStore && (p.artifactStore.type !== 'S3' || typeof p.artifactStore.location !== 'string')) {
    throw validation("pipeline.artifactStore must have type 'S3' and a location");
  }
  if (p.executionMode !== undefined && !MODES.has(p.executionMode))
    throw validation(`executionMode '${p.executionMode}' is not valid`);
  if (p.pipelineType !== undefined && p.pipelineType !== 'V1' && p.pipelineType !== 'V2')
    throw validation(`pipelineType '${p.pipelineType}' is not valid`);
  const v2 = p.pipelineType === 'V2';
  if (!v2 && p.executionMode && p.executionMode !== 'SUPERSEDED')
    throw structure(`Execution mode ${p.executionMode} requires pipeline type V2`);
  if (!v2 && (p.variables?.length || p.triggers?.length))
    throw structure('Pipeline variables and triggers require pipeline type V2');
  if (!Array.isArray(p.stages) || p.stages.length < 2) throw structure('Pipeline must contain at least two stages');
  if (p.stages.length > 50) throw structure('Pipeline cannot contain more than 50 stages');

  const stageNames = new Set<string>();
  const actionNames = new Set<string>();
  const produced = new Map<string, number>(); // artifact → stage index producing it
  const namespaces = new Set<string>();
  p.stages.forEach((stage, si) => {
    if (!isObject(stage)) throw validation(`pipeline.stages[${si}] must be an object`);
    requireName(stage.name, `pipeline.stages[${si}].name`);
    if (stageNames.has(stage.name)) throw structure(`Stage names must be unique: ${stage.name}`);
    stageNames.add(stage.name);
    if (!Array.isArray(stage.actions) || stage.actions.length === 0)
      throw structure(`Stage ${stage.name} must contain at least one action`);
    const names = new Set<string>();
    for (const [ai, action] of stage.actions.entries()) {
      checkAction(action, `pipeline.stages[${si}].actions[${ai}]`);
      if (names.has(action.name))
        throw structure(`Action names must be unique within stage ${stage.name}: ${action.name}`);
      names.add(action.name);
      actionNames.add(`${stage.name}/${action.name}`);
      const isSource = action.actionTypeId.category === 'Source';
      if (si === 0 && !isSource) throw structure(`The first stage ${stage.name} can contain only Source actions`);
      if (si > 0 && isSource) throw structure(`Source action ${action.name} can only be in the first stage`);
      if (action.namespace !== undefined) {
        if (!/^[A-Za-z0-9@\-_]{1,100}$/.test(action.namespace))
          throw validation(`Namespace '${action.namespace}' is not valid`);
        if (namespaces.has(action.namespace))
          throw structure(`Namespace ${action.namespace} is used by more than one action`);
        namespaces.add(action.namespace);
      }
      for (const out of action.outputArtifacts ?? []) {
        if (produced.has(out.name)) throw structure(`Output artifact name ${out.name} is not unique in the pipeline`);
        produced.set(out.name, si);
      }
    }
    for (const action of stage.actions) {
      for (const input of action.inputArtifacts ?? []) {
        const from = produced.get(input.name);
        if (from === undefined)
          throw structure(
            `Input artifact ${input.name} of action ${action.name} is not the output of an earlier action`,
          );
      }
    }
  });
  for (const trigger of p.triggers ?? []) {
    const name = trigger?.gitConfiguration?.sourceActionName;
    const first = p.stages[0];
    if (!first?.actions.some((a) => a.name === name))
      throw structure(`Trigger source action ${name} is not a Source action of this pipeline`);
  }
  const seen = new Set<string>();
  for (const variable of p.variables ?? []) {
    if (!/^[A-Za-z0-9@\-_]{1,128}$/.test(variable?.name ?? ''))
      throw validation(`Pipeline variable name '${variable?.name}' is not valid`);
    if (seen.has(variable.name)) throw structure(`Pipeline variable ${variable.name} is declared twice`);
    seen.add(variable.name);
  }
  return {
    ...p,
    pipelineType: p.pipelineType ?? 'V1',
    executionMode: p.executionMode ?? 'SUPERSEDED',
    stages: p.stages.map((stage) => ({
      ...stage,
      actions: stage.actions.map((a) => ({
        ...a,
        runOrder: a.runOrder ?? 1,
        configuration: a.configuration ?? {},
        inputArtifacts: a.inputArtifacts ?? [],
        outputArtifacts: a.outputArtifacts ?? [],
      })),
    })),
  };
}
