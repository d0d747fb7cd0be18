import { createHash, randomUUID } from 'node:crypto';
import type { LocalContext, Operation } from '../types.ts';
import { AwsError } from '../types.ts';
import { parseDefinition } from './definition.ts';
import {
  EXECUTIONS,
  type ExecutionRecord,
  type HistoryEvent,
  MACHINES,
  type MachineRecord,
  type SfnEngine,
} from './engine.ts';

/** Step Functions API operations (awsJson 1.0, camelCase members as in the AWS API). */
type In = Record<string, unknown>;

const NAME = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/]{1,80}$/;
// Control characters (U+0000–U+001F, U+007F–U+009F) are not allowed in names either.
const hasControl = (s: string) =>
  [...s].some(
    (c) => (c.codePointAt(0) ?? 0) < 0x20 || ((c.codePointAt(0) ?? 0) >= 0x7f && (c.codePointAt(0) ?? 0) <= 0x9f),
  );
const NAME_REUSE_SECONDS = 90 * 24 * 3600;
const MAX_INPUT = 256 * 1024;

const validation = (message: string) => new AwsError('ValidationException', message);

const checkName = (name: unknown, what: string): string => {
  // Length first, as a model constraint (ValidationException); then the character rules (InvalidName).
  if (typeof name === 'string' && [...name].length > 80) {
    throw validation(
      `1 validation error detected: Value '${name}' at 'name' failed to satisfy constraint: Member must have length less than or equal to 80`,
    );
  }
  if (typeof name !== 'string' || !NAME.test(name) || hasControl(name))
    throw new AwsError('InvalidName', `Invalid Name: '${String(name)}' is not a valid ${what} name`);
  return name;
};

const page = <T>(items: T[], maxResults: unknown, token: unknown): { items: T[]; nextToken?: string } => {
  const max = maxResults === undefined || maxResults === 0 ? 100 : Number(maxResults);
  if (!Number.isInteger(max) || max < 0 || max > 1000)
    throw validation(
      "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000",
    );
  const start = token ? Number(Buffer.from(String(token), 'base64url').toString()) : 0;
  if (!Number.isInteger(start) || start < 0)
    throw new AwsError('InvalidToken', "Invalid Token: 'Invalid pagination token'");
  const items_ = items.slice(start, start + max);
  return {
    items: items_,
    ...(start + max < items.length ? { nextToken: Buffer.from(String(start + max)).toString('base64url') } : {}),
  };
};

export const makeOperations = (engine: SfnEngine): Record<string, Operation> => {
  const machineArn = (ctx: LocalContext, name: string) =>
    `arn:aws:states:${ctx.region}:${ctx.accountId}:stateMachine:${name}`;

  const checkArn = (arn: unknown, kind: 'stateMachine' | 'execution'): string => {
    if (typeof arn !== 'string' || arn === '')
      throw validation(
        `1 validation error detected: Value null at '${kind}Arn' failed to satisfy constraint: Member must not be null`,
      );
    if (!new RegExp(`^arn:aws[a-z-]*:states:[a-z0-9-]+:\\d{12}:${kind}:`).test(arn)) {
      throw new AwsError(
        'InvalidArn',
        `Invalid Arn: 'Resource type not valid in this context: ${arn.split(':')[5] ?? arn}'`,
      );
    }
    return arn;
  };

  const machine = (ctx: LocalContext, arn: unknown): MachineRecord => {
    const a = checkArn(arn, 'stateMachine');
    const found = ctx.store.get<MachineRecord>(MACHINES, a);
    if (!found) throw new AwsError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${a}'`);
    return found;
  };

  const execution = (ctx: LocalContext, arn: unknown): ExecutionRecord => {
    const a = checkArn(arn, 'execution');
    const found = ctx.store.get<ExecutionRecord>(EXECUTIONS, a);
    if (!found) throw new AwsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${a}'`);
    return found;
  };

  const revision = (definition: string, roleArn: string) =>
    createHash('sha256').update(definition).update(roleArn).digest('hex').slice(0, 32);

  return {
    CreateStateMachine: (input: In, ctx: LocalContext) => {
      const name = checkName(input.name, 'state machine');
      parseDefinition(input.definition);
      const roleArn = input.roleArn;
      if (typeof roleArn !== 'string' || !roleArn.startsWith('arn:'))
        throw new AwsError('InvalidArn', `Invalid Arn: 'Invalid role ARN: ${String(roleArn)}'`);
      const type = String(input.type ?? 'STANDARD');
      if (type !== 'STANDARD' && type !== 'EXPRESS')
        throw validation(
          `1 validation error detected: Value '${type}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]`,
        );
      const arn = machineArn(ctx, name);
      const definition = String(input.definition);
      const logging = (input.loggingConfiguration ?? { level: 'OFF', includeExecutionData: false }) as Record<
        string,
        unknown
      >;
      const tracing = (input.tracingConfiguration ?? { enabled: false }) as Record<string, unknown>;
      const existing = ctx.store.get<MachineRecord>(MACHINES, arn);
      if (existing) {
        // Idempotent for the same definition, type and configuration; role and tags differences are ignored.
        const same =
          existing.definition === definition &&
          existing.type === type &&
          JSON.stringify(existing.loggingConfiguration) === JSON.stringify(logging) &&
          JSON.stringify(existing.tracingConfiguration) === JSON.stringify(tracing);
        if (!same) throw new AwsError('StateMachineAlreadyExists', `State Machine Already Exists: '${arn}'`);
        return { stateMachineArn: arn, creationDate: existing.creationDate };
      }
      const record: MachineRecord = {
        stateMachineArn: arn,
        name,
        definition,
        roleArn,
        type,
        creationDate: engine.now(),
        loggingConfiguration: logging,
        tracingConfiguration: tracing,
        tags: Array.isArray(input.tags) ? (input.tags as MachineRecord['tags']) : [],
        revisionId: revision(definition, roleArn),
        ...(typeof input.description === 'string' ? { description: input.description } : {}),
        ...(input.encryptionConfiguration && typeof input.encryptionConfiguration === 'object'
          ? { encryptionConfiguration: input.encryptionConfiguration as Record<string, unknown> }
          : {}),
      };
      ctx.store.put(MACHINES, arn, record);
      return { stateMachineArn: arn, creationDate: record.creationDate };
    },

    DescribeStateMachine: (input: In, ctx: LocalContext) => {
      const m = machine(ctx, input.stateMachineArn);
      return {
        stateMachineArn: m.stateMachineArn,
        name: m.name,
        status: 'ACTIVE',
        definition: m.definition,
        roleArn: m.roleArn,
        type: m.type,
        creationDate: m.creationDate,
        loggingConfiguration: m.loggingConfiguration,
        tracingConfiguration: m.tracingConfiguration,
        // Step Functions encrypts with an AWS owned key unless the machine names a customer managed one.
        encryptionConfiguration: m.encryptionConfiguration ?? { type: 'AWS_OWNED_KEY' },
        revisionId: m.revisionId,
        ...(m.description ? { description: m.description } : {}),
      };
    },

    ListStateMachines: (input: In, ctx: LocalContext) => {
      const all = ctx.store.list<MachineRecord>(MACHINES).map(([, m]) => m);
      const { items, nextToken } = page(all, input.maxResults, input.nextToken);
      return {
        stateMachines: items.map((m) => ({
          stateMachineArn: m.stateMachineArn,
          name: m.name,
          type: m.type,
          creationDate: m.creationDate,
        })),
        ...(nextToken ? { nextToken } : {}),
      };
    },

    UpdateStateMachine: (input: In, ctx: LocalContext) => {
      const m = machine(ctx, input.stateMachineArn);
      if (
        input.definition === undefined &&
        input.roleArn === undefined &&
        input.loggingConfiguration === undefined &&
        input.tracingConfiguration === undefined
      ) {
        throw new AwsError(
          'MissingRequiredParameter',
          'Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified',
        );
      }
      if (input.definition !== undefined) parseDefinition(input.definition);
      const updated: MachineRecord = {
        ...m,
        ...(input.definition !== undefined ? { definition: String(input.definition) } : {}),
        ...(typeof input.roleArn === 'string' ? { roleArn: input.roleArn } : {}),
        ...(input.loggingConfiguration
          ? { loggingConfiguration: input.loggingConfiguration as Record<string, unknown> }
          : {}),
        ...(input.tracingConfiguration
          ? { tracingConfiguration: input.tracingConfiguration as Record<string, unknown> }
          : {}),
        updateDate: engine.now(),
      };
      updated.revisionId = revision(updated.definition, updated.roleArn);
      ctx.store.put(MACHINES, m.stateMachineArn, updated);
      return { updateDate: updated.updateDate, revisionId: updated.revisionId };
    },

    DeleteStateMachine: (input: In, ctx: LocalContext) => {
      const arn = checkArn(input.stateMachineArn, 'stateMachine');
      // Running executions carry on to completion, as on AWS.
      ctx.store.delete(MACHINES, arn);
      return {};
    },

    StartExecution: (input: In, ctx: LocalContext) => {
      const m = machine(ctx, input.stateMachineArn);
      const name = input.name === undefined ? randomUUID() : checkName(input.name, 'execution');
      const raw = input.input === undefined ? '{}' : input.input;
      if (typeof raw !== 'string')
        throw new AwsError('InvalidExecutionInput', "Invalid State Machine Execution Input: 'input must be a string'");
      if (Buffer.byteLength(raw) > MAX_INPUT)
        throw new AwsError(
          'InvalidExecutionInput',
          'Invalid State Machine Execution Input: input exceeds 262144 bytes',
        );
      try {
        JSON.parse(raw);
      } catch (err) {
        throw new AwsError(
          'InvalidExecutionInput',
          `Invalid State Machine Execution Input: '${(err as Error).message}'`,
        );
      }
      const arn = `arn:aws:states:${ctx.region}:${ctx.accountId}:execution:${m.name}:${name}`;
      const previous = ctx.store.get<ExecutionRecord>(EXECUTIONS, arn);
      if (previous) {
        // Same name and input while running: the same execution (StartExecution is idempotent for STANDARD).
        if (previous.status === 'RUNNING' && previous.input === raw)
          return { executionArn: arn, startDate: previous.startDate };
        const reusable =
          previous.status !== 'RUNNING' &&
          previous.stopDate !== undefined &&
          engine.now() - previous.stopDate > NAME_REUSE_SECONDS;
        if (!reusable) throw new AwsError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
      }
      const record: ExecutionRecord = {
        executionArn: arn,
        stateMachineArn: m.stateMachineArn,
        name,
        status: 'RUNNING',
        input: raw,
        startDate: engine.now(),
        definition: m.definition,
        roleArn: m.roleArn,
        stateTransitions: 0,
        restarts: 0,
      };
      ctx.store.put(EXECUTIONS, arn, record);
      engine.start(ctx, record);
      return { executionArn: arn, startDate: record.startDate };
    },

    DescribeExecution: (input: In, ctx: LocalContext) => {
      const e = execution(ctx, input.executionArn);
      return {
        executionArn: e.executionArn,
        stateMachineArn: e.stateMachineArn,
        name: e.name,
        status: e.status,
        startDate: e.startDate,
        ...(e.stopDate !== undefined ? { stopDate: e.stopDate } : {}),
        input: e.input,
        inputDetails: { included: true },
        ...(e.output !== undefined ? { output: e.output, outputDetails: { included: true } } : {}),
        ...(e.error !== undefined ? { error: e.error } : {}),
        ...(e.cause !== undefined ? { cause: e.cause } : {}),
        redriveCount: 0,
        redriveStatus: 'NOT_REDRIVABLE',
        // Local extension (not in the AWS API): states entered so far, i.e. billed state transitions.
        stateTransitionCount: engine.transitions(e.executionArn) ?? e.stateTransitions,
      };
    },

    ListExecutions: (input: In, ctx: LocalContext) => {
      const m = machine(ctx, input.stateMachineArn);
      const filter = input.statusFilter === undefined ? undefined : String(input.statusFilter);
      const all = ctx.store
        .list<ExecutionRecord>(EXECUTIONS)
        .map(([, e]) => e)
        .filter((e) => e.stateMachineArn === m.stateMachineArn && (!filter || e.status === filter))
        .sort((a, b) => b.startDate - a.startDate);
      const { items, nextToken } = page(all, input.maxResults, input.nextToken);
      return {
        executions: items.map((e) => ({
          executionArn: e.executionArn,
          stateMachineArn: e.stateMachineArn,
          name: e.name,
          status: e.status,
          startDate: e.startDate,
          ...(e.stopDate !== undefined ? { stopDate: e.stopDate } : {}),
        })),
        ...(nextToken ? { nextToken } : {}),
      };
    },

    GetExecutionHistory: (input: In, ctx: LocalContext) => {
      const e = execution(ctx, input.executionArn);
      let events: HistoryEvent[] = engine.history(ctx, e.executionArn);
      if (input.reverseOrder === true) events = [...events].reverse();
      if (input.includeExecutionData === false) {
        events = events.map(
          (ev) =>
            Object.fromEntries(
              Object.entries(ev).map(([k, v]) => [
                k,
                k.endsWith('EventDetails') && v && typeof v === 'object'
                  ? Object.fromEntries(
                      Object.entries(v).filter(([f]) => !['input', 'output', 'parameters'].includes(f)),
                    )
                  : v,
              ]),
            ) as HistoryEvent,
        );
      }
      const { items, nextToken } = page(events, input.maxResults, input.nextToken);
      return { events: items, ...(nextToken ? { nextToken } : {}) };
    },

    StopExecution: async (input: In, ctx: LocalContext) => {
      const e = execution(ctx, input.executionArn);
      if (e.status !== 'RUNNING') return { stopDate: e.stopDate ?? engine.now() };
      const error = typeof input.error === 'string' ? input.error : undefined;
      const cause = typeof input.cause === 'string' ? input.cause : undefined;
      if (engine.stopExecution(e.executionArn, error, cause)) await engine.settled(e.executionArn);
      else {
        ctx.store.put(EXECUTIONS, e.executionArn, {
          ...e,
          status: 'ABORTED',
          stopDate: engine.now(),
          ...(error ? { error } : {}),
          ...(cause ? { cause } : {}),
        });
      }
      return { stopDate: ctx.store.get<ExecutionRecord>(EXECUTIONS, e.executionArn)?.stopDate ?? engine.now() };
    },

    SendTaskSuccess: (input: In, ctx: LocalContext) => {
      engine.sendSuccess(ctx, input.taskToken, input.output);
      return {};
    },
    SendTaskFailure: (input: In, ctx: LocalContext) => {
      engine.sendFailure(ctx, input.taskToken, input.error, input.cause);
      return {};
    },
    SendTaskHeartbeat: (input: In, ctx: LocalContext) => {
      engine.sendHeartbeat(ctx, input.taskToken);
      return {};
    },
  };
};
