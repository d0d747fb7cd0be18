/**
 * Variable references in action configuration, resolved as CodePipeline does when an action starts:
 * `#{codepipeline.PipelineExecutionId}`, `#{variables.name}` (V2 pipeline-level) and `#{Namespace.Variable}`.
 */
import type { ExecutionRecord } from '../model.ts';

export class UnresolvedVariableError extends Error {
  constructor(reference: string) {
    super(`Unable to resolve the variable reference #{${reference}}`);
    this.name = 'UnresolvedVariableError';
  }
}

const REFERENCE = /#\{([A-Za-z0-9@\-_]+)\.([A-Za-z0-9@\-_.]+)\}/g;

export function resolveString(value: string, exec: ExecutionRecord): string {
  return value.replace(REFERENCE, (_match, ns: string, name: string) => {
    let resolved: string | undefined;
    if (ns === 'codepipeline' && name === 'PipelineExecutionId') resolved = exec.pipelineExecutionId;
    else if (ns === 'variables') resolved = exec.variables[name];
    else resolved = exec.namespaces[ns]?.[name];
    if (resolved === undefined) throw new UnresolvedVariableError(`${ns}.${name}`);
    return resolved;
  });
}

export function resolveConfiguration(config: Record<string, string>, exec: ExecutionRecord): Record<string, string> {
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, resolveString(v, exec)]));
}

/** Pipeline-level variables for a new execution: declared defaults overridden by the start request. */
export function executionVariables(
  declared: Array<{ name: string; defaultValue?: string }> | undefined,
  given: Array<{ name: string; value: string }> | undefined,
): Record<string, string> | { error: string } {
  const out: Record<string, string> = {};
  const names = new Set((declared ?? []).map((v) => v.name));
  for (const v of declared ?? []) if (v.defaultValue !== undefined) out[v.name] = v.defaultValue;
  for (const v of given ?? []) {
    if (!names.has(v.name)) return { error: `Variable ${v.name} is not declared in the pipeline` };
    if (typeof v.value !== 'string') return { error: `Variable ${v.name} must have a string value` };
    out[v.name] = v.value;
  }
  for (const name of names)
    if (out[name] === undefined) return { error: `Variable ${name} has no value and no default` };
  return out;
}
