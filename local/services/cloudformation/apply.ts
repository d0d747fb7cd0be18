import type { Template } from '../../runtime/template.ts';
import type { LocalContext } from '../types.ts';
import { type Env, evalCondition, NO_VALUE, resolve } from './intrinsics.ts';
import {
  type Definition,
  type Output,
  order,
  parse,
  type ResourceRecord,
  type StackRecord,
  typedParams,
} from './model.ts';
import { createResource, identify, needsReplacement, updateResource } from './resources.ts';

/**
 * What applying a definition needs from the stack engine: the clock, the account's exports and importers, and the
 * per-resource status step (events, delays). The engine implements it; apply never imports the engine.
 */
export type ApplyHost = {
  now(): string;
  exports(ctx: LocalContext): Array<{ name: string; value: string; stack: StackRecord }>;
  importers(ctx: LocalContext, exportName: string, except?: string): string[];
  resourceStatus(
    ctx: LocalContext,
    stack: StackRecord,
    id: string,
    r: ResourceRecord,
    status: string,
    reason?: string,
  ): Promise<void>;
};

/**
 * One provisioning pass of a create or update: resources in dependency order with their intrinsics resolved
 * to local values, then outputs, exports and imports, with CloudFormation's export rules.
 */
const environment = (
  engine: ApplyHost,
  ctx: LocalContext,
  stack: StackRecord,
  template: Template,
  def: Definition,
  imports: Set<string>,
): Env => {
  return {
    region: ctx.region,
    accountId: ctx.accountId,
    stackName: stack.stackName,
    stackId: stack.stackId,
    params: typedParams(template, def.params),
    resources: Object.fromEntries(
      Object.entries(stack.resources)
        .filter(([, r]) => r.physicalId && r.status !== 'DELETE_COMPLETE')
        .map(([id, r]) => [
          id,
          {
            ref: r.ref ?? (r.physicalId as string),
            attrs: (name: string) => r.attrs?.[name] ?? `${r.physicalId}.${name}`,
          },
        ]),
    ),
    conditions: (template.Conditions ?? {}) as Record<string, unknown>,
    mappings: ((template as { Mappings?: Env['mappings'] }).Mappings ?? {}) as Env['mappings'],
    importValue: (name: string) => {
      const found = engine.exports(ctx).find((e) => e.name === name && e.stack.stackId !== stack.stackId);
      if (!found) throw new Error(`No export named ${name} found`);
      imports.add(name);
      return found.value;
    },
  };
};

const included = (env: Env, condition: string | undefined): boolean => {
  return condition === undefined || evalCondition(condition, env);
};

/**
 * Brings the stack's resources to `def`: creates new ones, updates changed ones (replacing when a name
 * property changes), and returns the removed/replaced ones for cleanup. Throws `[logicalId, reason]`.
 */
export const applyDefinition = async (engine: ApplyHost, ctx: LocalContext, stack: StackRecord, def: Definition) => {
  const template = parse(def.templateBody);
  const imports = new Set<string>();
  const env = environment(engine, ctx, stack, template, def, imports);
  const cleanup: NonNullable<StackRecord['cleanup']> = [];
  const ids = order(template);
  const wanted = new Set<string>();
  for (const id of ids) {
    const decl = template.Resources[id];
    if (!decl) continue;
    let props: Record<string, unknown>;
    try {
      if (!included(env, decl.Condition)) continue;
      wanted.add(id);
      props = resolve(decl.Properties ?? {}, env) as Record<string, unknown>;
    } catch (err) {
      throw [id, err instanceof Error ? err.message : String(err)];
    }
    const existing = stack.resources[id];
    const live = existing?.physicalId && !['DELETE_COMPLETE', 'CREATE_FAILED'].includes(existing.status);
    if (live && existing.type === decl.Type && JSON.stringify(existing.props) === JSON.stringify(props)) continue;
    const replace = live && (existing.type !== decl.Type || needsReplacement(decl.Type, existing.props ?? {}, props));
    if (live && !replace) {
      await engine.resourceStatus(ctx, stack, id, existing, 'UPDATE_IN_PROGRESS');
      try {
        await updateResource(decl.Type, existing as Required<ResourceRecord>, props, ctx);
      } catch (err) {
        await engine.resourceStatus(ctx, stack, id, existing, 'UPDATE_FAILED', String((err as Error).message));
        throw [id, (err as Error).message];
      }
      existing.props = props;
      await engine.resourceStatus(ctx, stack, id, existing, 'UPDATE_COMPLETE');
      env.resources[id] = {
        ref: existing.ref as string,
        attrs: (n) => existing.attrs?.[n] ?? `${existing.physicalId}.${n}`,
      };
      continue;
    }
    if (replace) cleanup.push({ logicalId: id, type: existing.type, physicalId: existing.physicalId as string });
    const identity = identify(decl.Type, id, props, stack.stackName, ctx);
    const record: ResourceRecord = { type: decl.Type, status: 'CREATE_IN_PROGRESS', timestamp: engine.now() };
    const event = replace ? 'UPDATE' : 'CREATE';
    await engine.resourceStatus(
      ctx,
      stack,
      id,
      record,
      `${event}_IN_PROGRESS`,
      replace ? 'Requested update requires the creation of a new physical resource; hence creating one.' : undefined,
    );
    try {
      await createResource(decl.Type, identity, props, ctx);
    } catch (err) {
      await engine.resourceStatus(ctx, stack, id, record, `${event}_FAILED`, (err as Error).message);
      if (replace && existing) stack.resources[id] = existing;
      throw [id, (err as Error).message];
    }
    Object.assign(record, { physicalId: identity.physicalId, ref: identity.ref, attrs: identity.attrs, props });
    if (!stack.order.includes(id)) stack.order.push(id);
    await engine.resourceStatus(ctx, stack, id, record, `${event}_COMPLETE`);
    env.resources[id] = { ref: identity.ref, attrs: (n) => identity.attrs[n] ?? `${identity.physicalId}.${n}` };
  }
  for (const id of Object.keys(stack.resources)) {
    const r = stack.resources[id] as ResourceRecord;
    if (!wanted.has(id) && r.physicalId && r.status !== 'DELETE_COMPLETE') {
      cleanup.push({ logicalId: id, type: r.type, physicalId: r.physicalId });
    }
  }
  let outputs: Output[];
  try {
    outputs = Object.entries(template.Outputs ?? {}).flatMap(([key, o]) => {
      const decl = o as { Value: unknown; Export?: { Name: unknown }; Description?: string; Condition?: string };
      if (!included(env, decl.Condition)) return [];
      const value = resolve(decl.Value, env);
      if (value === NO_VALUE) return [];
      const exportName = decl.Export ? String(resolve(decl.Export.Name, env)) : undefined;
      return [
        {
          OutputKey: key,
          OutputValue: Array.isArray(value)
            ? value.join(',')
            : typeof value === 'object'
              ? JSON.stringify(value)
              : String(value),
          ...(decl.Description ? { Description: decl.Description } : {}),
          ...(exportName ? { ExportName: exportName } : {}),
        },
      ];
    });
  } catch (err) {
    throw [stack.stackName, (err as Error).message];
  }
  for (const o of outputs) {
    if (!o.ExportName) continue;
    const clash = engine.exports(ctx).find((e) => e.name === o.ExportName && e.stack.stackId !== stack.stackId);
    if (clash)
      throw [stack.stackName, `Export with name ${o.ExportName} is already exported by stack ${clash.stack.stackName}`];
  }
  // Exports other stacks import may be neither removed nor changed.
  for (const old of stack.outputs) {
    if (!old.ExportName) continue;
    const users = engine.importers(ctx, old.ExportName, stack.stackId);
    if (users.length === 0) continue;
    const now = outputs.find((o) => o.ExportName === old.ExportName);
    if (!now)
      throw [stack.stackName, `Export ${old.ExportName} cannot be deleted as it is in use by ${users.join(' and ')}`];
    if (now.OutputValue !== old.OutputValue)
      throw [stack.stackName, `Cannot update export ${old.ExportName} as it is in use by ${users.join(' and ')}`];
  }
  return { outputs, imports: [...imports], cleanup, description: (template as { Description?: string }).Description };
};
