/**
 * What a target receives: the whole event, a constant `Input`, the part selected by `InputPath`, or the output of
 * an `InputTransformer` (JSONPath variables substituted into `InputTemplate`), as the EventBridge guide
 * "Amazon EventBridge input transformation" describes.
 */
import type { BusEvent } from '../types.ts';
import { type Target, validation } from './model.ts';

const ANY = Symbol('wildcard');
type Step = string | number | typeof ANY;

/** Parses the JSONPath subset EventBridge accepts: `$`, `.name`, `['name']`, `["name"]`, `[index]`, `.*`, `[*]`. */
export function parseJsonPath(path: string): Step[] | undefined {
  if (!path.startsWith('$')) return undefined;
  const steps: Step[] = [];
  let i = 1;
  while (i < path.length) {
    const rest = path.slice(i);
    const dot = /^\.([^.[\]]+)/.exec(rest);
    const quoted = /^\[(?:'([^']*)'|"([^"]*)")\]/.exec(rest);
    const index = /^\[(\d+)\]/.exec(rest);
    if (rest.startsWith('[*]')) {
      steps.push(ANY);
      i += 3;
    } else if (dot?.[1] !== undefined) {
      steps.push(dot[1] === '*' ? ANY : dot[1]);
      i += dot[0].length;
    } else if (quoted) {
      steps.push(quoted[1] ?? quoted[2] ?? '');
      i += quoted[0].length;
    } else if (index?.[1] !== undefined) {
      steps.push(Number(index[1]));
      i += index[0].length;
    } else return undefined;
  }
  return steps;
}

/** Selects a value; a wildcard step collects the matches under it into an array. */
export function selectPath(value: unknown, steps: Step[]): unknown {
  const [step, ...rest] = steps;
  if (step === undefined) return value;
  if (value === null || typeof value !== 'object') return undefined;
  if (step === ANY) {
    const children = Array.isArray(value) ? value : Object.values(value);
    return children.map((child) => selectPath(child, rest)).filter((v) => v !== undefined);
  }
  return selectPath((value as Record<string | number, unknown>)[step], rest);
}

const VARIABLE = /^[A-Za-z0-9_-]+$/;

/** Validates a target's input settings at PutTargets time, as AWS does. */
export function checkTargetInput(target: Target): void {
  const set = [target.Input, target.InputPath, target.InputTransformer].filter((v) => v !== undefined);
  if (set.length > 1) {
    throw validation(`Only one of Input, InputPath, or InputTransformer can be provided for target ${target.Id}.`);
  }
  if (target.Input !== undefined) {
    try {
      JSON.parse(target.Input);
    } catch {
      throw validation(`Input for target ${target.Id} is not valid JSON.`);
    }
  }
  if (target.InputPath !== undefined && !parseJsonPath(target.InputPath)) {
    throw validation(`InputPath for target ${target.Id} is not a valid JsonPath.`);
  }
  const transformer = target.InputTransformer;
  if (transformer) {
    if (typeof transformer.InputTemplate !== 'string') {
      throw validation(
        `Value null at 'targets.member.inputTransformer.inputTemplate' failed to satisfy constraint: Member must not be null`,
      );
    }
    const paths = transformer.InputPathsMap ?? {};
    if (Object.keys(paths).length > 100) {
      throw validation(`InputPathsMap for target ${target.Id} has more than 100 entries.`);
    }
    for (const [name, path] of Object.entries(paths)) {
      if (!VARIABLE.test(name) || name.toLowerCase().startsWith('aws.')) {
        throw validation(`InputPathsMap key ${name} for target ${target.Id} is not valid.`);
      }
      if (typeof path !== 'string' || !parseJsonPath(path)) {
        throw validation(`InputPathsMap value ${String(path)} for target ${target.Id} is not a valid JsonPath.`);
      }
    }
    const sample = renderTemplate(transformer.InputTemplate, () => undefined);
    if (looksLikeJson(transformer.InputTemplate)) {
      try {
        JSON.parse(sample);
      } catch {
        throw validation(`InputTemplate for target ${target.Id} is not valid JSON.`);
      }
    }
  }
}

const looksLikeJson = (template: string) => /^\s*[{["]/.test(template);

/**
 * Substitutes `<name>` placeholders. In a JSON template a placeholder inside a string literal takes the value's
 * text (escaped); outside one it takes the value as JSON (strings quoted, missing values `null`). In a plain-text
 * template values are inserted as text. Unknown `<…>` sequences are left as written.
 */
export function renderTemplate(template: string, lookup: (name: string) => unknown): string {
  const json = looksLikeJson(template);
  let out = '';
  let inString = false;
  for (let i = 0; i < template.length; i++) {
    const ch = template[i] as string;
    if (ch === '\\' && inString) {
      out += ch + (template[i + 1] ?? '');
      i++;
      continue;
    }
    if (ch === '"') inString = !inString;
    const placeholder = ch === '<' ? /^<([A-Za-z0-9_.-]+)>/.exec(template.slice(i)) : null;
    const name = placeholder?.[1];
    if (!placeholder || name === undefined || !isKnown(name, lookup)) {
      out += ch;
      continue;
    }
    const value = lookup(name);
    if (json && !inString) out += value === undefined ? 'null' : JSON.stringify(value);
    else if (typeof value === 'string') out += json ? JSON.stringify(value).slice(1, -1) : value;
    else if (value !== undefined)
      out += json ? JSON.stringify(JSON.stringify(value)).slice(1, -1) : JSON.stringify(value);
    i += placeholder[0].length - 1;
  }
  return out;
}

// `lookup` returns undefined for a path that is absent from the event; a name that is not a variable at all is
// signalled by the sentinel below so that literal `<text>` survives.
const UNKNOWN = Symbol('unknown variable');
function isKnown(name: string, lookup: (name: string) => unknown): boolean {
  return lookup(name) !== UNKNOWN;
}

export type RuleInfo = { ruleName: string; ruleArn: string; ingestedAt: string };

/** Builds what a target receives for an event. */
export function targetPayload(target: Target, event: BusEvent, rule: RuleInfo): unknown {
  if (target.Input !== undefined) return JSON.parse(target.Input);
  if (target.InputPath !== undefined) return selectPath(event, parseJsonPath(target.InputPath) ?? []);
  const transformer = target.InputTransformer;
  if (!transformer) return event;
  const paths = transformer.InputPathsMap ?? {};
  const lookup = (name: string): unknown => {
    switch (name) {
      case 'aws.events.rule-arn':
        return rule.ruleArn;
      case 'aws.events.rule-name':
        return rule.ruleName;
      case 'aws.events.event.ingestion-time':
        return rule.ingestedAt;
      case 'aws.events.event': {
        // The documented difference: `aws.events.event` is the envelope without `detail`.
        const { detail: _detail, ...envelope } = event;
        return envelope;
      }
      case 'aws.events.event.json':
        return event;
    }
    const path = paths[name];
    if (path === undefined) return UNKNOWN;
    return selectPath(event, parseJsonPath(path) ?? []);
  };
  const text = renderTemplate(transformer.InputTemplate, lookup);
  if (!looksLikeJson(transformer.InputTemplate)) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
