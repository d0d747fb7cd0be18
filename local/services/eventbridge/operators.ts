/**
 * The operators of EventBridge event patterns (`prefix`, `numeric`, `anything-but`, …): how each one is validated,
 * with the rule engine's own refusal reasons, and how it tests one leaf value of an event.
 */
import { type IpRange, type IpValue, inRange, parseCidr, parseIp } from './ip.ts';

/** A pattern EventBridge would refuse; `reason` is the engine's own wording. */
export class InvalidEventPatternError extends Error {
  readonly reason: string;
  constructor(reason: string) {
    super(`Event pattern is not valid. Reason: ${reason}`);
    this.name = 'InvalidEventPatternError';
    this.reason = reason;
  }
}

export type Scalar = string | number | boolean | null;

export type Matcher =
  | { kind: 'exact'; value: Scalar; ip?: IpValue }
  | { kind: 'prefix' | 'suffix'; value: string; ignoreCase: boolean }
  | { kind: 'equals-ignore-case'; value: string }
  | { kind: 'wildcard'; regex: RegExp }
  | { kind: 'numeric'; low?: bigint; lowOpen: boolean; high?: bigint; highOpen: boolean }
  | { kind: 'exists'; exists: boolean }
  | { kind: 'cidr'; range: IpRange }
  | { kind: 'anything-but'; values: Scalar[] }
  | { kind: 'anything-but-ignore-case'; values: string[] }
  | { kind: 'anything-but-prefix' | 'anything-but-suffix'; values: string[] }
  | { kind: 'anything-but-wildcard'; regexes: RegExp[] };

export function fail(reason: string): never {
  throw new InvalidEventPatternError(reason);
}

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** One `{ "<operator>": … }` object inside a field's array. */
export function matchExpression(expr: Record<string, unknown>): Matcher {
  const keys = Object.keys(expr);
  const op = keys[0];
  if (op === undefined) return fail('Match expression name not found');
  const value = expr[op];
  // The engine reads the first operator completely before it notices a second key.
  const onlyOneKey = (reason = 'Only one key allowed in match expression') => {
    if (keys.length > 1) fail(reason);
  };
  switch (op) {
    case 'exactly': {
      if (typeof value !== 'string') fail('exact match pattern must be a string');
      onlyOneKey();
      return { kind: 'exact', value: value as string };
    }
    case 'prefix':
    case 'suffix': {
      if (isObject(value)) {
        const inner = Object.keys(value);
        const innerOp = inner[0];
        const label = op === 'prefix' ? 'Prefix' : 'Suffix';
        if (innerOp === undefined) fail(`${label} expression name not found`);
        if (innerOp !== 'equals-ignore-case') fail(`Unsupported ${op} pattern: ${innerOp}`);
        if (typeof value[innerOp as string] !== 'string') fail('equals-ignore-case match pattern must be a string');
        if (inner.length > 1) fail('Only one key allowed in match expression');
        onlyOneKey();
        return { kind: op, value: value[innerOp as string] as string, ignoreCase: true };
      }
      if (typeof value !== 'string') fail(`${op} match pattern must be a string`);
      onlyOneKey();
      return { kind: op, value: value as string, ignoreCase: false };
    }
    case 'numeric': {
      if (!Array.isArray(value)) fail('Value of numeric must be an array.');
      const matcher = numericExpression(value as unknown[]);
      onlyOneKey('Too many elements in numeric expression');
      return matcher;
    }
    case 'anything-but': {
      const matcher = anythingBut(value);
      onlyOneKey('Too many elements in numeric expression');
      return matcher;
    }
    case 'exists': {
      if (typeof value !== 'boolean') fail('exists match pattern must be either true or false.');
      onlyOneKey();
      return { kind: 'exists', exists: value as boolean };
    }
    case 'cidr': {
      // The engine reuses the prefix wording here.
      if (typeof value !== 'string') fail('prefix match pattern must be a string');
      let range: IpRange;
      try {
        range = parseCidr(value as string);
      } catch (err) {
        return fail((err as Error).message);
      }
      onlyOneKey();
      return { kind: 'cidr', range };
    }
    case 'equals-ignore-case': {
      if (typeof value !== 'string') fail('equals-ignore-case match pattern must be a string');
      onlyOneKey();
      return { kind: 'equals-ignore-case', value: value as string };
    }
    case 'wildcard': {
      if (typeof value !== 'string') fail('wildcard match pattern must be a string');
      const regex = wildcardRegex(value as string);
      onlyOneKey();
      return { kind: 'wildcard', regex };
    }
    default:
      return fail(`Unrecognized match type ${op}`);
  }
}

function anythingBut(value: unknown): Matcher {
  if (isObject(value)) {
    const inner = Object.keys(value);
    const innerOp = inner[0];
    if (innerOp === undefined) return fail('Anything-But expression name not found');
    if (!['equals-ignore-case', 'prefix', 'suffix', 'wildcard'].includes(innerOp)) {
      fail(`Unsupported anything-but pattern: ${innerOp}`);
    }
    const operand = value[innerOp];
    if (!Array.isArray(operand) && typeof operand !== 'string' && typeof operand !== 'number') {
      fail('Value of anything-but must be an array or single string/number value.');
    }
    const list = Array.isArray(operand) ? operand : [operand];
    const strings: string[] = [];
    for (const item of list) {
      if (typeof item !== 'string') {
        if (innerOp === 'equals-ignore-case') {
          fail('Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.');
        }
        fail(
          innerOp === 'wildcard'
            ? 'wildcard match pattern must be a string'
            : 'prefix/suffix match pattern must be a string',
        );
      }
      if ((innerOp === 'prefix' || innerOp === 'suffix') && item === '') fail('Null prefix/suffix not allowed');
      strings.push(item as string);
    }
    if (inner.length > 1) fail('Too many elements in numeric expression');
    switch (innerOp) {
      case 'equals-ignore-case':
        return { kind: 'anything-but-ignore-case', values: strings.map((s) => s.toLowerCase()) };
      case 'wildcard':
        return { kind: 'anything-but-wildcard', regexes: strings.map(wildcardRegex) };
      default:
        return { kind: innerOp === 'prefix' ? 'anything-but-prefix' : 'anything-but-suffix', values: strings };
    }
  }
  if (Array.isArray(value)) {
    let strings = 0;
    let numbers = 0;
    for (const item of value) {
      if (typeof item === 'string') strings++;
      else if (typeof item === 'number') {
        operand(item);
        numbers++;
      } else fail('Inside anything but list, start|null|boolean is not supported.');
    }
    if (strings > 0 === numbers > 0) {
      fail('Inside anything but list, either all values are number or string, mixed type is not supported');
    }
    return { kind: 'anything-but', values: value as Scalar[] };
  }
  if (typeof value === 'number') operand(value);
  if (typeof value === 'string' || typeof value === 'number') return { kind: 'anything-but', values: [value] };
  return fail('Value of anything-but must be an array or single string/number value.');
}

const FIVE_BILLION_MICROS = 5_000_000_000n * 1_000_000n;

/**
 * A number in millionths, as the engine compares numbers: exact to six decimal places within ±5e9. Returns the
 * engine's refusal as a string when the number is outside that domain.
 */
function toMicros(n: number): bigint | string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/.exec(String(n));
  if (!m) return 'Value must be between -5.0E9 and 5.0E9, inclusive';
  const [, sign, int = '', frac = '', exp = '0'] = m;
  // Shift the decimal point by the exponent, then strip trailing zeros to find the scale.
  let digits = int + frac;
  let scale = frac.length - Number(exp);
  while (scale > 0 && digits.endsWith('0')) {
    digits = digits.slice(0, -1);
    scale--;
  }
  if (scale > 6) return 'Only values upto 6 decimals are supported';
  const micros = BigInt(digits) * 10n ** BigInt(6 - scale) * (sign === '-' ? -1n : 1n);
  if (micros < -FIVE_BILLION_MICROS || micros > FIVE_BILLION_MICROS) {
    return 'Value must be between -5.0E9 and 5.0E9, inclusive';
  }
  return micros;
}

function operand(n: number): bigint {
  const micros = toMicros(n);
  return typeof micros === 'string' ? fail(micros) : micros;
}

function numericExpression(terms: unknown[]): Matcher {
  const [op, first, op2, second, ...rest] = terms;
  if (typeof op !== 'string') return fail(`Invalid member in numeric match: ${terms.length === 0 ? ']' : String(op)}`);
  if (!['=', '<', '<=', '>', '>='].includes(op)) fail(`Unrecognized numeric range operator: ${op}`);
  if (typeof first !== 'number') fail(`Value of ${op === '=' ? 'equals' : op} must be numeric`);
  const value = first as number;
  const onlyOne = () => {
    if (terms.length > 2) fail('Too many elements in numeric expression');
  };
  switch (op) {
    case '=':
      onlyOne();
      return { kind: 'numeric', low: operand(value), lowOpen: false, high: operand(value), highOpen: false };
    case '<':
    case '<=':
      onlyOne();
      return { kind: 'numeric', lowOpen: false, high: operand(value), highOpen: op === '<' };
  }
  // '>' or '>=': optionally followed by an upper bound.
  if (terms.length === 2) return { kind: 'numeric', low: operand(value), lowOpen: op === '>', highOpen: false };
  if (typeof op2 !== 'string') return fail(`Bad value in numeric range: ${String(op2)}`);
  if (op2 !== '<' && op2 !== '<=') fail(`Bad numeric range operator: ${op2}`);
  if (typeof second !== 'number') fail(`Value of ${op2} must be numeric`);
  if (rest.length > 0) fail('Too many terms in numeric range expression');
  const low = operand(value);
  const high = operand(second as number);
  if (high <= low) fail('Bottom must be less than top');
  return { kind: 'numeric', low, lowOpen: op === '>', high, highOpen: op2 === '<' };
}

/**
 * `*` matches any run of characters (including none); `\*` is a literal star and `\\` a literal backslash; any
 * other backslash and two stars in a row are invalid. Positions in errors count UTF-8 bytes of the quoted value,
 * as the engine reports them.
 */
function wildcardRegex(text: string): RegExp {
  let source = '';
  const position = (i: number) => Buffer.byteLength(text.slice(0, i)) + 1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '*') {
      if (text[i + 1] === '*') fail(`Consecutive wildcard characters at pos ${position(i)}`);
      source += '[\\s\\S]*';
    } else if (ch === '\\') {
      const next = text[i + 1];
      if (next !== '*' && next !== '\\') fail(`Invalid escape character at pos ${position(i)}`);
      source += `\\${next}`;
      i++;
    } else {
      source += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`, 'u');
}

const lower = (s: string) => s.toLowerCase();

export function matchesValue(m: Matcher, value: Scalar): boolean {
  switch (m.kind) {
    case 'exact':
      if (value === m.value) return true;
      if (m.ip && typeof value === 'string') {
        const ip = parseIp(value);
        return ip !== undefined && ip.family === m.ip.family && ip.value === m.ip.value;
      }
      return false;
    case 'prefix':
      if (typeof value !== 'string') return false;
      return m.ignoreCase ? lower(value).startsWith(lower(m.value)) : value.startsWith(m.value);
    case 'suffix':
      if (typeof value !== 'string') return false;
      return m.ignoreCase ? lower(value).endsWith(lower(m.value)) : value.endsWith(m.value);
    case 'equals-ignore-case':
      return typeof value === 'string' && lower(value) === lower(m.value);
    case 'wildcard':
      return typeof value === 'string' && m.regex.test(value);
    case 'numeric': {
      // Event numbers outside the engine's numeric domain never satisfy a numeric condition.
      const micros = typeof value === 'number' ? toMicros(value) : undefined;
      if (typeof micros !== 'bigint') return false;
      if (m.low !== undefined && (m.lowOpen ? micros <= m.low : micros < m.low)) return false;
      if (m.high !== undefined && (m.highOpen ? micros >= m.high : micros > m.high)) return false;
      return true;
    }
    case 'exists':
      return m.exists;
    case 'cidr': {
      if (typeof value !== 'string') return false;
      const ip = parseIp(value);
      return ip !== undefined && inRange(m.range, ip);
    }
    // anything-but matches every present value (null and other types included) except the listed ones.
    case 'anything-but':
      return !m.values.includes(value);
    case 'anything-but-ignore-case':
      return typeof value !== 'string' || !m.values.includes(lower(value));
    case 'anything-but-prefix':
      return typeof value !== 'string' || !m.values.some((p) => value.startsWith(p));
    case 'anything-but-suffix':
      return typeof value !== 'string' || !m.values.some((s) => value.endsWith(s));
    case 'anything-but-wildcard':
      return typeof value !== 'string' || !m.regexes.some((r) => r.test(value));
  }
}
