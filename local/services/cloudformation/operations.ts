import type { LocalContext, Operation } from '../types.ts';
import { AwsError } from '../types.ts';
import { makeChangeSetOperations } from './change-sets.ts';
import type { StackEngine } from './engine.ts';
import {
  bool,
  checkStackName,
  checkToken,
  list,
  parse,
  readTemplateSource,
  requiredCapabilities,
  type StackRecord,
  validationError,
} from './model.ts';
import { clean, type In, makeRequests, NO_CHANGES, notFound, paginate, STABLE } from './requests.ts';

/**
 * CloudFormation API operations (awsQuery). Inputs arrive decoded from the form (`X.member.N` → arrays,
 * values as strings); outputs are the `<Action>Result` content. Mutations of one stack run under its lock.
 */
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
  const r = makeRequests(engine);
  const { required, existing, useToken, definition, newStack, sameDefinition, startUpdate, changeSet } = r;
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

    ...makeChangeSetOperations(engine, r),
  };
};

const safeTemplate = (text: string) => {
  try {
    return parse(text) as { Parameters?: Record<string, { NoEcho?: unknown }> };
  } catch {
    return undefined;
  }
};
