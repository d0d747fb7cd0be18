/**
 * Evaluates CloudFormation intrinsic functions against a resolution environment: parameters, pseudo
 * parameters, conditions, and each resource's Ref value and attributes (local names and ARNs).
 */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

/** Marks a value that resolves to nothing (`!Ref AWS::NoValue`): the enclosing property is removed. */
export const NO_VALUE: unique symbol = Symbol('AWS::NoValue');

export type ResolveEnv = {
  parameters: Record<string, unknown>;
  pseudo: Record<string, string>;
  /** Logical id → the value `Ref` returns. */
  refs: Record<string, string>;
  /** Logical id → attribute name → value (`Fn::GetAtt`). */
  attributes: Record<string, Record<string, string>>;
  conditions: Record<string, unknown>;
  /** Export name → value, for Fn::ImportValue. */
  exports?: Record<string, string>;
};

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export class Resolver {
  readonly #env: ResolveEnv;
  readonly #conditionCache = new Map<string, boolean>();

  constructor(env: ResolveEnv) {
    this.#env = env;
  }

  condition(name: string): boolean {
    const cached = this.#conditionCache.get(name);
    if (cached !== undefined) return cached;
    if (!(name in this.#env.conditions)) throw new TemplateError(`unknown condition ${name}`);
    const value = this.resolve(this.#env.conditions[name]);
    if (typeof value !== 'boolean') throw new TemplateError(`condition ${name} did not evaluate to a boolean`);
    this.#conditionCache.set(name, value);
    return value;
  }

  ref(name: string): unknown {
    if (name === 'AWS::NoValue') return NO_VALUE;
    if (name in this.#env.pseudo) return this.#env.pseudo[name];
    if (name in this.#env.parameters) return this.#env.parameters[name];
    if (name in this.#env.refs) return this.#env.refs[name];
    throw new TemplateError(`Ref to unknown parameter or resource ${name}`);
  }

  getAtt(logicalId: string, attribute: string): string {
    const attrs = this.#env.attributes[logicalId];
    const value = attrs?.[attribute];
    if (value === undefined) throw new TemplateError(`GetAtt ${logicalId}.${attribute} is not supported locally`);
    return value;
  }

  sub(template: string, vars: Record<string, unknown> = {}): string {
    return template.replace(/\$\{(!?)([^}]+)\}/g, (whole, bang: string, name: string) => {
      if (bang === '!') return `\${${name}}`; // ${!Literal} escapes a literal ${Literal}
      const key = name.trim();
      if (key in vars) return String(vars[key]);
      const dot = key.indexOf('.');
      if (dot > 0 && !key.startsWith('AWS::')) return this.getAtt(key.slice(0, dot), key.slice(dot + 1));
      const value = this.ref(key);
      if (value === NO_VALUE) throw new TemplateError(`Fn::Sub cannot substitute AWS::NoValue in ${whole}`);
      return Array.isArray(value) ? value.join(',') : String(value);
    });
  }

  /** Resolves every intrinsic inside `value`, depth first. */
  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v)).filter((v) => v !== NO_VALUE);
    if (!isObject(value)) return value;
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const key = keys[0] as string;
      const arg = value[key];
      switch (key) {
        case 'Ref':
          return this.ref(String(arg));
        case 'Condition':
          return this.condition(String(arg));
        case 'Fn::GetAtt': {
          const [id, ...rest] = Array.isArray(arg) ? arg : String(arg).split('.');
          return this.getAtt(String(this.resolve(id)), rest.map((r) => String(this.resolve(r))).join('.'));
        }
        case 'Fn::Sub': {
          if (typeof arg === 'string') return this.sub(arg);
          if (Array.isArray(arg) && typeof arg[0] === 'string') {
            const vars = (this.resolve(arg[1] ?? {}) ?? {}) as Record<string, unknown>;
            return this.sub(arg[0], vars);
          }
          throw new TemplateError('Fn::Sub takes a string or [string, {vars}]');
        }
        case 'Fn::Join': {
          const [sep, list] = this.#args(key, arg, 2);
          const items = this.resolve(list);
          if (!Array.isArray(items)) throw new TemplateError('Fn::Join needs a list');
          return items.map(String).join(String(this.resolve(sep)));
        }
        case 'Fn::Split': {
          const [sep, text] = this.#args(key, arg, 2);
          return String(this.resolve(text)).split(String(this.resolve(sep)));
        }
        case 'Fn::Select': {
          const [index, list] = this.#args(key, arg, 2);
          const items = this.resolve(list);
          const i = Number(this.resolve(index));
          if (!Array.isArray(items) || !Number.isInteger(i) || i < 0 || i >= items.length) {
            throw new TemplateError(`Fn::Select index ${i} out of range`);
          }
          return items[i];
        }
        case 'Fn::If': {
          const [cond, whenTrue, whenFalse] = this.#args(key, arg, 3);
          return this.condition(String(cond)) ? this.resolve(whenTrue) : this.resolve(whenFalse);
        }
        case 'Fn::Equals': {
          const [a, b] = this.#args(key, arg, 2);
          return (
            JSON.stringify(this.resolve(a)) === JSON.stringify(this.resolve(b)) ||
            String(this.resolve(a)) === String(this.resolve(b))
          );
        }
        case 'Fn::Not': {
          const [a] = this.#args(key, arg, 1);
          const v = this.resolve(a);
          if (typeof v !== 'boolean') throw new TemplateError('Fn::Not needs a boolean');
          return !v;
        }
        case 'Fn::And':
          return (arg as unknown[]).every((c) => this.resolve(c) === true);
        case 'Fn::Or':
          return (arg as unknown[]).some((c) => this.resolve(c) === true);
        case 'Fn::ImportValue': {
          const name = String(this.resolve(arg));
          const exported = this.#env.exports?.[name];
          if (exported === undefined) throw new TemplateError(`Fn::ImportValue: no export named ${name}`);
          return exported;
        }
        case 'Fn::ToJsonString':
          return JSON.stringify(this.resolve(arg));
        case 'Fn::Base64':
          return Buffer.from(String(this.resolve(arg))).toString('base64');
        default:
          if (key.startsWith('Fn::')) throw new TemplateError(`${key} is not supported by the local cloud`);
      }
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const resolved = this.resolve(v);
      if (resolved !== NO_VALUE) out[k] = resolved;
    }
    return out;
  }

  #args(fn: string, arg: unknown, n: number): unknown[] {
    if (!Array.isArray(arg) || arg.length !== n) throw new TemplateError(`${fn} takes ${n} arguments`);
    return arg;
  }
}
