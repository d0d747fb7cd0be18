import { randomUUID } from 'node:crypto';
import type { LocalContext, Operation } from '../types.ts';
import { AwsError } from '../types.ts';
import type { StackEngine } from './engine.ts';
import {
  CHANGE_SETS,
  type ChangeSetRecord,
  checkStackName,
  checkToken,
  type Definition,
  parse,
  type StackRecord,
  validationError,
} from './model.ts';
import { clean, type In, notFound, type Requests, STABLE } from './requests.ts';
import { needsReplacement } from './resources.ts';

/** Change sets (CREATE and UPDATE): a previewed definition that ExecuteChangeSet turns into a stack operation. */
export const makeChangeSetOperations = (engine: StackEngine, requests: Requests): Record<string, Operation> => {
  const { required, existing, definition, newStack, sameDefinition, startUpdate, changeSet } = requests;
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

  return {
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
