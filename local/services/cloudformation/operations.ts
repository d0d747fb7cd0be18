import { randomUUID } from 'node:crypto';
import type { LocalContext, Operation } from '../types.ts';
import { AwsError } from '../types.ts';
import type { StackEngine } from './engine.ts';
import {
  bool,
  CHANGE_SETS,
  type ChangeSetRecord,
  checkCapabilities,
  checkStackName,
  checkToken,
  type Definition,
  list,
  parameterValues,
  parse,
  readTemplateSource,
  requiredCapabilities,
  type StackRecord,
  stackArn,
  tagsFrom,
  validationError,
} from './model.ts';
import { needsReplacement } from './resources.ts';

/**
 * CloudFormation API operations (awsQuery). Inputs arrive decoded from the form (`X.member.N` → arrays,
 * values as strings); outputs are the `<Action>Result` content. Mutations of one stack run under its lock.
 */
type In = Record<string, unknown>;

const STABLE = [
  'CREATE_COMPLETE',
  'UPDATE_COMPLETE',
  'UPDATE_ROLLBACK_COMPLETE',
  'IMPORT_COMPLETE',
  'IMPORT_ROLLBACK_COMPLETE',
];
const NO_CHANGES = 'No updates are to be performed.';
const PAGE = 100;

const clean = <T extends Record<string, unknown>>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

const notFound = (name: string) => validationError(`Stack with id ${name} does not exist`);

const paginate = <T>(items: T[], token: unknown): { page: T[]; NextToken?: string } => {
  const start = token ? Number(Buffer.from(String(token), 'base64url').toString()) : 0;
  if (!Number.isInteger(start) || start < 0) throw validationError('Invalid NextToken');
  const page = items.slice(start, start + PAGE);
  return {
    page,
    ...(start + PAGE < items.length ? { NextToken: Buffer.from(String(start + PAGE)).toString('base64url') } : {}),
  };
};

export const describeStack = (s: StackRecord, template?: { Parameters?: Record<string, { NoEcho?: unknown }> }) =>
  clean({
    StackId: s.stackId,
    StackName: s.stackName,
    ChangeSetId: s.changeSetId,
    Description: s.description,
    Parameters: Object.entries(s.params).map(([k, v]) => ({
      ParameterKey: k,
      ParameterValue: bool(template?.Parameters?.[k]?.NoEcho) ? '****' : v,
    })),
    CreationTime: s.creationTime,
    DeletionTime: s.deletionTime,
    LastUpdatedTime: s.lastUpdatedTime,
    StackStatus: s.status,
    StackStatusReason: s.reason,
    DisableRollback: s.disableRollback,
    NotificationARNs: s.notificationArns,
    Capabilities: s.capabilities,
    Outputs: s.outputs,
    RoleARN: s.roleArn,
    Tags: s.tags,
    EnableTerminationProtection: s.terminationProtection,
    DriftInformation: { StackDriftStatus: 'NOT_CHECKED' },
  });

export const makeOperations = (engine: StackEngine): Record<string, Operation> => {
  const required = (input: In, field: string): string => {
    const v = input[field];
    if (v === undefined || v === null || v === '') {
      throw validationError(
        `1 validation error detected: Value null at '${field.charAt(0).toLowerCase()}${field.slice(1)}' failed to satisfy constraint: Member must not be null`,
      );
    }
    return String(v);
  };

  const existing = (ctx: LocalContext, nameOrId: string): StackRecord => {
    const stack = engine.find(ctx, nameOrId);
    if (!stack) throw notFound(nameOrId);
    return stack;
  };

  const useToken = (stack: StackRecord, token: string | undefined, operation: string): boolean => {
    if (!token) return false;
    const used = stack.tokens[token];
    if (used === operation) return true;
    if (used)
      throw new AwsError(
        'TokenAlreadyExistsException',
        `Another ${used} request with client request token ${token} was already made on stack ${stack.stackName}`,
      );
    stack.tokens[token] = operation;
    return false;
  };

  /** The definition a create/update/change set asks for, validated as CloudFormation does at request time. */
  const definition = async (ctx: LocalContext, input: In, previous?: StackRecord): Promise<Definition> => {
    let templateBody: string;
    if (bool(input.UsePreviousTemplate)) {
      if (!previous) throw validationError('UsePreviousTemplate can only be used with an existing stack');
      if (input.TemplateBody || input.TemplateURL)
        throw validationError('You cannot specify both usePreviousTemplate and Template Body/Template URL.');
      templateBody = previous.templateBody;
    } else templateBody = await readTemplateSource(input, ctx);
    const template = parse(templateBody);
    const capabilities = list<string>(input.Capabilities).map(String);
    checkCapabilities(template, capabilities);
    const params = parameterValues(template, list(input.Parameters), previous?.params);
    const tags = input.Tags === undefined && previous ? previous.tags : tagsFrom(input.Tags);
    return { templateBody, params, tags, capabilities };
  };

  const newStack = (ctx: LocalContext, name: string, def: Definition, input: In, status: string): StackRecord => {
    const stackId = stackArn(ctx, name, randomUUID());
    const template = parse(def.templateBody);
    const onFailure = String(input.OnFailure ?? (bool(input.DisableRollback) ? 'DO_NOTHING' : 'ROLLBACK'));
    if (!['ROLLBACK', 'DELETE', 'DO_NOTHING'].includes(onFailure))
      throw validationError(`Invalid OnFailure value: ${onFailure}`);
    if (input.OnFailure !== undefined && input.DisableRollback !== undefined) {
      throw validationError('You cannot specify both OnFailure and DisableRollback.');
    }
    return {
      ...def,
      stackId,
      stackName: name,
      status,
      ...((template as { Description?: string }).Description
        ? { description: (template as { Description?: string }).Description }
        : {}),
      creationTime: engine.now(),
      ...(input.RoleARN ? { roleArn: String(input.RoleARN) } : {}),
      notificationArns: list<string>(input.NotificationARNs).map(String),
      disableRollback: onFailure === 'DO_NOTHING',
      onFailure: onFailure as StackRecord['onFailure'],
      terminationProtection: bool(input.EnableTerminationProtection),
      resources: {},
      order: [],
      outputs: [],
      imports: [],
      tokens: {},
    };
  };

  const changesFor = (stack: StackRecord | undefined, def: Definition) => {
    const template = parse(def.templateBody);
    const changes: ChangeSetRecord['changes'] = [];
    for (const [id, r] of Object.entries(template.Resources)) {
      const current = stack?.resources[id];
      if (!current?.physicalId || current.status === 'DELETE_COMPLETE') {
        changes.push({ Action: 'Add', LogicalResourceId: id, ResourceType: r.Type });
      } else {
        const before = stack ? parse(stack.templateBody).Resources[id] : undefined;
        if (
          JSON.stringify(before) !== JSON.stringify(r) ||
          JSON.stringify(stack?.params) !== JSON.stringify(def.params)
        ) {
          const props = (r.Properties ?? {}) as Record<string, unknown>;
          changes.push({
            Action: 'Modify',
            LogicalResourceId: id,
            PhysicalResourceId: current.physicalId,
            ResourceType: r.Type,
            Replacement:
              r.Type !== current.type || needsReplacement(r.Type, current.props ?? {}, props) ? 'True' : 'False',
          });
        }
      }
    }
    for (const [id, r] of Object.entries(stack?.resources ?? {})) {
      if (!(id in template.Resources) && r.physicalId && r.status !== 'DELETE_COMPLETE') {
        changes.push({
          Action: 'Remove',
          LogicalResourceId: id,
          PhysicalResourceId: r.physicalId,
          ResourceType: r.type,
        });
      }
    }
    return changes;
  };

  const sameDefinition = (stack: StackRecord, def: Definition) =>
    stack.templateBody === def.templateBody &&
    JSON.stringify(stack.params) === JSON.stringify(def.params) &&
    JSON.stringify(stack.tags) === JSON.stringify(def.tags);

  const startUpdate = async (ctx: LocalContext, stack: StackRecord, def: Definition, token?: string) => {
    stack.next = def;
    stack.previous = { resources: stack.resources, order: stack.order, outputs: stack.outputs, imports: stack.imports };
    stack.lastUpdatedTime = engine.now();
    await engine.begin(ctx, stack, 'update', 'UPDATE_IN_PROGRESS', 'User Initiated', token);
  };

  const changeSet = (ctx: LocalContext, input: In): ChangeSetRecord => {
    const name = required(input, 'ChangeSetName');
    if (name.startsWith('arn:')) {
      const found = ctx.store.get<ChangeSetRecord>(CHANGE_SETS, name);
      if (found) return found;
    } else {
      const stackName = required(input, 'StackName');
      const stack = engine.find(ctx, stackName);
      const found = ctx.store
        .list<ChangeSetRecord>(CHANGE_SETS)
        .map(([, c]) => c)
        .find((c) => c.name === name && (c.stackId === stack?.stackId || c.stackName === stackName));
      if (found) return found;
    }
    throw new AwsError('ChangeSetNotFound', `ChangeSet [${name}] does not exist`, 404);
  };

  return {
    CreateStack: async (input: In, ctx: LocalContext) => {
      const name = checkStackName(input.StackName);
      const token = checkToken(input.ClientRequestToken);
      return engine.withLock(`name:${name}`, async () => {
        const current = engine.find(ctx, name);
        if (current) {
          if (token && current.tokens[token] === 'CreateStack') return { StackId: current.stackId };
          throw new AwsError('AlreadyExistsException', `Stack [${name}] already exists`);
        }
        const def = await definition(ctx, input);
        const stack = newStack(ctx, name, def, input, 'CREATE_IN_PROGRESS');
        if (token) stack.tokens[token] = 'CreateStack';
        await engine.begin(ctx, stack, 'create', 'CREATE_IN_PROGRESS', 'User Initiated', token);
        return { StackId: stack.stackId };
      });
    },

    UpdateStack: async (input: In, ctx: LocalContext) => {
      const nameOrId = required(input, 'StackName');
      const token = checkToken(input.ClientRequestToken);
      const found = existing(ctx, nameOrId);
      return engine.withLock(found.stackId, async () => {
        const stack = existing(ctx, found.stackId);
        if (stack.status === 'DELETE_COMPLETE') throw notFound(nameOrId);
        if (useToken(stack, token, 'UpdateStack')) return { StackId: stack.stackId };
        if (!STABLE.includes(stack.status)) {
          throw validationError(`Stack:${stack.stackId} is in ${stack.status} state and can not be updated.`);
        }
        const def = await definition(ctx, input, stack);
        if (sameDefinition(stack, def)) throw validationError(NO_CHANGES);
        if (input.EnableTerminationProtection !== undefined)
          stack.terminationProtection = bool(input.EnableTerminationProtection);
        await startUpdate(ctx, stack, def, token);
        return { StackId: stack.stackId };
      });
    },

    DeleteStack: async (input: In, ctx: LocalContext) => {
      const nameOrId = required(input, 'StackName');
      const token = checkToken(input.ClientRequestToken);
      const retain = list<string>(input.RetainResources).map(String);
      const mode = String(input.DeletionMode ?? 'STANDARD');
      if (!['STANDARD', 'FORCE_DELETE_STACK'].includes(mode)) throw validationError(`Invalid DeletionMode: ${mode}`);
      const found = engine.find(ctx, nameOrId);
      // DeleteStack on a stack that does not exist (or is already deleted) succeeds and does nothing, as on AWS.
      if (!found || found.status === 'DELETE_COMPLETE') return {};
      return engine.withLock(found.stackId, async () => {
        const stack = existing(ctx, found.stackId);
        if (stack.status === 'DELETE_COMPLETE') return {};
        if (useToken(stack, token, 'DeleteStack')) return {};
        if (stack.terminationProtection) {
          throw validationError(`Stack [${stack.stackName}] cannot be deleted while TerminationProtection is enabled`);
        }
        if (mode === 'FORCE_DELETE_STACK' && stack.status !== 'DELETE_FAILED') {
          throw validationError(
            'You can activate DeletionMode FORCE_DELETE_STACK in a delete stack operation only when the stack is in the DELETE_FAILED state.',
          );
        }
        if (retain.length > 0 && stack.status !== 'DELETE_FAILED') {
          // Wording not verified against AWS; the condition is documented for RetainResources.
          throw validationError(
            `Invalid operation on stack [${stack.stackId}]: RetainResources can only be specified when the stack is in the DELETE_FAILED state`,
          );
        }
        const unknown = retain.filter((id) => !stack.resources[id]);
        if (unknown.length > 0)
          throw validationError(`The specified resources to retain do not exist in stack: [${unknown.join(', ')}]`);
        if (stack.status === 'DELETE_IN_PROGRESS') return {};
        const request = { retain, force: mode === 'FORCE_DELETE_STACK', ...(token ? { token } : {}) };
        if (stack.op) {
          // Another operation is running: the delete starts as soon as it ends.
          stack.deleteRequest = request;
          engine.save(ctx, stack);
          return {};
        }
        stack.deleteRequest = request;
        if (stack.status !== 'DELETE_FAILED') stack.statusBeforeDelete = stack.status;
        await engine.begin(ctx, stack, 'delete', 'DELETE_IN_PROGRESS', 'User Initiated', token);
        return {};
      });
    },

    DescribeStacks: (input: In, ctx: LocalContext) => {
      const name = input.StackName ? String(input.StackName) : undefined;
      const stacks = name ? [existing(ctx, name)] : engine.live(ctx).reverse();
      const { page, NextToken } = paginate(stacks, input.NextToken);
      return clean({ Stacks: page.map((s) => describeStack(s, safeTemplate(s.templateBody))), NextToken });
    },

    ListStacks: (input: In, ctx: LocalContext) => {
      const filter = list<string>(input.StackStatusFilter).map(String);
      const stacks = engine
        .all(ctx)
        .reverse()
        .filter((s) => filter.length === 0 || filter.includes(s.status));
      const { page, NextToken } = paginate(stacks, input.NextToken);
      return clean({
        StackSummaries: page.map((s) =>
          clean({
            StackId: s.stackId,
            StackName: s.stackName,
            TemplateDescription: s.description,
            CreationTime: s.creationTime,
            LastUpdatedTime: s.lastUpdatedTime,
            DeletionTime: s.deletionTime,
            StackStatus: s.status,
            StackStatusReason: s.reason,
            DriftInformation: { StackDriftStatus: 'NOT_CHECKED' },
          }),
        ),
        NextToken,
      });
    },

    DescribeStackEvents: (input: In, ctx: LocalContext) => {
      const name = required(input, 'StackName');
      const stack = engine.find(ctx, name);
      if (!stack) throw validationError(`Stack [${name}] does not exist`);
      const { page, NextToken } = paginate(engine.events(ctx, stack.stackId), input.NextToken);
      return clean({ StackEvents: page, NextToken });
    },

    ListStackResources: (input: In, ctx: LocalContext) => {
      const stack = existing(ctx, required(input, 'StackName'));
      const summaries = Object.entries(stack.resources).map(([id, r]) =>
        clean({
          LogicalResourceId: id,
          PhysicalResourceId: r.physicalId,
          ResourceType: r.type,
          LastUpdatedTimestamp: r.timestamp,
          ResourceStatus: r.status,
          ResourceStatusReason: r.reason,
          DriftInformation: { StackResourceDriftStatus: 'NOT_CHECKED' },
        }),
      );
      const { page, NextToken } = paginate(summaries, input.NextToken);
      return clean({ StackResourceSummaries: page, NextToken });
    },

    DescribeStackResources: (input: In, ctx: LocalContext) => {
      const physical = input.PhysicalResourceId ? String(input.PhysicalResourceId) : undefined;
      let stack: StackRecord | undefined;
      if (input.StackName) stack = existing(ctx, String(input.StackName));
      else if (physical)
        stack = engine.live(ctx).find((s) => Object.values(s.resources).some((r) => r.physicalId === physical));
      else throw validationError('Either StackName or PhysicalResourceId must be specified.');
      if (!stack) throw validationError(`Stack for ${physical} does not exist`);
      const logical = input.LogicalResourceId ? String(input.LogicalResourceId) : undefined;
      const s = stack;
      return {
        StackResources: Object.entries(s.resources)
          .filter(
            ([id, r]) => (!logical || id === logical) && (!physical || input.StackName || r.physicalId === physical),
          )
          .map(([id, r]) =>
            clean({
              StackName: s.stackName,
              StackId: s.stackId,
              LogicalResourceId: id,
              PhysicalResourceId: r.physicalId,
              ResourceType: r.type,
              Timestamp: r.timestamp,
              ResourceStatus: r.status,
              ResourceStatusReason: r.reason,
              DriftInformation: { StackResourceDriftStatus: 'NOT_CHECKED' },
            }),
          ),
      };
    },

    UpdateTerminationProtection: async (input: In, ctx: LocalContext) => {
      const found = existing(ctx, required(input, 'StackName'));
      if (input.EnableTerminationProtection === undefined)
        throw validationError('EnableTerminationProtection is required');
      return engine.withLock(found.stackId, () => {
        const stack = existing(ctx, found.stackId);
        if (stack.status === 'DELETE_COMPLETE') throw notFound(String(input.StackName));
        stack.terminationProtection = bool(input.EnableTerminationProtection);
        engine.save(ctx, stack);
        return { StackId: stack.stackId };
      });
    },

    GetTemplate: (input: In, ctx: LocalContext) => {
      if (input.ChangeSetName) {
        const cs = changeSet(ctx, input);
        return { TemplateBody: cs.definition.templateBody, StagesAvailable: ['Original', 'Processed'] };
      }
      const stack = existing(ctx, required(input, 'StackName'));
      return { TemplateBody: stack.templateBody, StagesAvailable: ['Original', 'Processed'] };
    },

    ValidateTemplate: async (input: In, ctx: LocalContext) => {
      const template = parse(await readTemplateSource(input, ctx));
      const { capabilities, reason } = requiredCapabilities(template);
      return clean({
        Parameters: Object.entries(template.Parameters ?? {}).map(([k, p]) =>
          clean({
            ParameterKey: k,
            DefaultValue: p.Default === undefined ? undefined : String(p.Default),
            NoEcho: bool(p.NoEcho),
            Description: p.Description as string | undefined,
          }),
        ),
        Description: (template as { Description?: string }).Description,
        Capabilities: capabilities,
        CapabilitiesReason: reason,
        DeclaredTransforms: list<string>(template.Transform),
      });
    },

    ListExports: (input: In, ctx: LocalContext) => {
      const { page, NextToken } = paginate(engine.exports(ctx), input.NextToken);
      return clean({
        Exports: page.map((e) => ({ ExportingStackId: e.stack.stackId, Name: e.name, Value: e.value })),
        NextToken,
      });
    },

    ListImports: (input: In, ctx: LocalContext) => {
      const name = required(input, 'ExportName');
      const users = engine.importers(ctx, name);
      if (users.length === 0) throw validationError(`Export '${name}' is not imported by any stack.`);
      return { Imports: users };
    },

    CreateChangeSet: async (input: In, ctx: LocalContext) => {
      const stackName = checkStackName(input.StackName);
      const name = required(input, 'ChangeSetName');
      if (!/^[a-zA-Z][-a-zA-Z0-9]{0,127}$/.test(name)) throw validationError(`ChangeSet name '${name}' is invalid`);
      const type = String(input.ChangeSetType ?? 'UPDATE');
      if (type !== 'CREATE' && type !== 'UPDATE')
        throw validationError(`ChangeSetType ${type} is not supported locally`);
      return engine.withLock(`name:${stackName}`, async () => {
        let stack = engine.find(ctx, stackName);
        if (type === 'CREATE' && stack && stack.status !== 'REVIEW_IN_PROGRESS') {
          throw new AwsError(
            'AlreadyExistsException',
            `Stack [${stackName}] already exists and cannot be created again with the changeSet [${name}].`,
          );
        }
        if (type === 'UPDATE' && !stack) throw notFound(stackName);
        const def = await definition(ctx, input, type === 'UPDATE' ? stack : undefined);
        if (!stack) {
          stack = newStack(ctx, stackName, def, input, 'REVIEW_IN_PROGRESS');
          stack.templateBody = def.templateBody;
          await engine.setStatus(ctx, stack, 'REVIEW_IN_PROGRESS', 'User Initiated');
        }
        const s = stack;
        if (ctx.store.list<ChangeSetRecord>(CHANGE_SETS).some(([, c]) => c.stackId === s.stackId && c.name === name)) {
          throw new AwsError('AlreadyExistsException', `ChangeSet [${name}] already exists`);
        }
        const id = `arn:aws:cloudformation:${ctx.region}:${ctx.accountId}:changeSet/${name}/${randomUUID()}`;
        const changes = changesFor(type === 'UPDATE' ? s : undefined, def);
        const empty = type === 'UPDATE' && changes.length === 0 && sameDefinition(s, def);
        const record: ChangeSetRecord = {
          id,
          name,
          stackId: s.stackId,
          stackName,
          type,
          status: empty ? 'FAILED' : 'CREATE_COMPLETE',
          executionStatus: empty ? 'UNAVAILABLE' : 'AVAILABLE',
          ...(empty
            ? {
                statusReason:
                  "The submitted information didn't contain changes. Submit different information to create a change set.",
              }
            : {}),
          creationTime: engine.now(),
          ...(input.Description ? { description: String(input.Description) } : {}),
          definition: def,
          changes,
        };
        ctx.store.put(CHANGE_SETS, id, record);
        return { Id: id, StackId: s.stackId };
      });
    },

    DescribeChangeSet: (input: In, ctx: LocalContext) => {
      const cs = changeSet(ctx, input);
      return clean({
        ChangeSetName: cs.name,
        ChangeSetId: cs.id,
        StackId: cs.stackId,
        StackName: cs.stackName,
        Description: cs.description,
        Parameters: Object.entries(cs.definition.params).map(([k, v]) => ({ ParameterKey: k, ParameterValue: v })),
        CreationTime: cs.creationTime,
        ExecutionStatus: cs.executionStatus,
        Status: cs.status,
        StatusReason: cs.statusReason,
        Capabilities: cs.definition.capabilities,
        Tags: cs.definition.tags,
        Changes: cs.changes.map((c) => ({ Type: 'Resource', ResourceChange: clean({ ...c }) })),
      });
    },

    ListChangeSets: (input: In, ctx: LocalContext) => {
      const stack = existing(ctx, required(input, 'StackName'));
      return {
        Summaries: ctx.store
          .list<ChangeSetRecord>(CHANGE_SETS)
          .map(([, c]) => c)
          .filter((c) => c.stackId === stack.stackId)
          .map((c) =>
            clean({
              StackId: c.stackId,
              StackName: c.stackName,
              ChangeSetId: c.id,
              ChangeSetName: c.name,
              ExecutionStatus: c.executionStatus,
              Status: c.status,
              StatusReason: c.statusReason,
              CreationTime: c.creationTime,
            }),
          ),
      };
    },

    ExecuteChangeSet: async (input: In, ctx: LocalContext) => {
      const cs = changeSet(ctx, input);
      const token = checkToken(input.ClientRequestToken);
      return engine.withLock(cs.stackId, async () => {
        const stack = existing(ctx, cs.stackId);
        if (cs.executionStatus !== 'AVAILABLE') {
          throw new AwsError(
            'InvalidChangeSetStatus',
            `ChangeSet [${cs.id}] cannot be executed in its current execution status of [${cs.executionStatus}]`,
          );
        }
        if (cs.type === 'UPDATE' && !STABLE.includes(stack.status)) {
          throw validationError(`Stack:${stack.stackId} is in ${stack.status} state and can not be updated.`);
        }
        if (token) stack.tokens[token] = 'ExecuteChangeSet';
        // Executing one change set makes the stack's other change sets obsolete, as on AWS.
        for (const [id, other] of ctx.store.list<ChangeSetRecord>(CHANGE_SETS)) {
          if (other.stackId === stack.stackId) {
            ctx.store.put(CHANGE_SETS, id, {
              ...other,
              executionStatus: id === cs.id ? 'EXECUTE_IN_PROGRESS' : 'OBSOLETE',
            });
          }
        }
        stack.changeSetId = cs.id;
        if (cs.type === 'CREATE') {
          Object.assign(stack, cs.definition);
          await engine.begin(ctx, stack, 'create', 'CREATE_IN_PROGRESS', 'User Initiated', token);
        } else {
          await startUpdate(ctx, stack, cs.definition, token);
        }
        const done = ctx.store.get<ChangeSetRecord>(CHANGE_SETS, cs.id);
        if (done) ctx.store.put(CHANGE_SETS, cs.id, { ...done, executionStatus: 'EXECUTE_COMPLETE' });
        return {};
      });
    },

    DeleteChangeSet: (input: In, ctx: LocalContext) => {
      const cs = changeSet(ctx, input);
      if (cs.executionStatus === 'EXECUTE_IN_PROGRESS') {
        throw new AwsError('InvalidChangeSetStatus', `Cannot delete ChangeSet [${cs.id}] while it is being executed`);
      }
      ctx.store.delete(CHANGE_SETS, cs.id);
      return {};
    },
  };
};

const safeTemplate = (text: string) => {
  try {
    return parse(text) as { Parameters?: Record<string, { NoEcho?: unknown }> };
  } catch {
    return undefined;
  }
};
