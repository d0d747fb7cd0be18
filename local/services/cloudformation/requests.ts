import { randomUUID } from 'node:crypto';
import type { LocalContext } from '../types.ts';
import { AwsError } from '../types.ts';
import type { StackEngine } from './engine.ts';
import {
  bool,
  CHANGE_SETS,
  type ChangeSetRecord,
  checkCapabilities,
  type Definition,
  list,
  parameterValues,
  parse,
  readTemplateSource,
  type StackRecord,
  stackArn,
  tagsFrom,
  validationError,
} from './model.ts';

/**
 * What CloudFormation checks and builds when it accepts a stack request: templates, capabilities, parameters,
 * tokens and the stack record, shared by the stack and change set operations.
 */
export type In = Record<string, unknown>;

export const STABLE = [
  'CREATE_COMPLETE',
  'UPDATE_COMPLETE',
  'UPDATE_ROLLBACK_COMPLETE',
  'IMPORT_COMPLETE',
  'IMPORT_ROLLBACK_COMPLETE',
];
export const NO_CHANGES = 'No updates are to be performed.';
const PAGE = 100;

export const clean = <T extends Record<string, unknown>>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

export const notFound = (name: string) => validationError(`Stack with id ${name} does not exist`);

export const paginate = <T>(items: T[], token: unknown): { page: T[]; NextToken?: string } => {
  const start = token ? Number(Buffer.from(String(token), 'base64url').toString()) : 0;
  if (!Number.isInteger(start) || start < 0) throw validationError('Invalid NextToken');
  const page = items.slice(start, start + PAGE);
  return {
    page,
    ...(start + PAGE < items.length ? { NextToken: Buffer.from(String(start + PAGE)).toString('base64url') } : {}),
  };
};

export type Requests = ReturnType<typeof makeRequests>;

export const makeRequests = (engine: StackEngine) => {
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
      // A name resolves to the stack that holds it now (a stack id to exactly that stack): after a stack name is
      // reused, the change sets of the deleted stack of that name are not the ones meant.
      const stackName = required(input, 'StackName');
      const stack = engine.find(ctx, stackName);
      const found =
        stack &&
        ctx.store
          .list<ChangeSetRecord>(CHANGE_SETS)
          .map(([, c]) => c)
          .find((c) => c.name === name && c.stackId === stack.stackId);
      if (found) return found;
    }
    throw new AwsError('ChangeSetNotFound', `ChangeSet [${name}] does not exist`, 404);
  };

  return { required, existing, useToken, definition, newStack, sameDefinition, startUpdate, changeSet };
};
