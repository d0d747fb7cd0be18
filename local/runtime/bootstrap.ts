import { randomInt } from 'node:crypto';
import type { DynamoDb } from '../services/dynamodb/index.ts';
import { AwsError, type LocalContext } from '../services/types.ts';
import type { LocalModel, SecretSpec } from './wiring.ts';

/**
 * Creates the template's resources in the local services, idempotently: an existing table, parameter, secret,
 * topic or subscription is kept as it is (a parameter edited locally stays edited; a generated secret is
 * generated once). Services that are not present are skipped with one log line each.
 */
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const PUNCT = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

export const generatePassword = (length: number, excludePunctuation: boolean): string => {
  const alphabet = excludePunctuation ? ALNUM : ALNUM + PUNCT;
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
};

export const secretValue = (spec: SecretSpec): string | undefined => {
  if (spec.secretString !== undefined) return spec.secretString;
  if (!spec.generate) return undefined;
  const password = generatePassword(spec.generate.length, spec.generate.excludePunctuation);
  if (spec.generate.template === undefined) return password;
  const doc = JSON.parse(spec.generate.template) as Record<string, unknown>;
  doc[spec.generate.key ?? 'password'] = password;
  return JSON.stringify(doc);
};

const isMissing = (err: unknown, ...codes: string[]) => err instanceof AwsError && codes.includes(err.code);

export const applyModel = async (
  model: LocalModel,
  ctx: LocalContext,
  dynamodb: DynamoDb,
  has: (serviceId: string) => boolean,
): Promise<string[]> => {
  const problems: string[] = [];
  const attempt = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      problems.push(`${what}: ${(err as Error).message}`);
      ctx.log.error('could not create a template resource', { resource: what, error: (err as Error).message });
    }
  };
  for (const table of model.tables) {
    await attempt(`table ${table.name}`, () => dynamodb.ensureTable(table.createTable, table.ttlAttribute));
  }
  for (const p of model.parameters) {
    await attempt(`parameter ${p.name}`, async () => {
      try {
        await ctx.call('ssm', 'GetParameter', { Name: p.name });
      } catch (err) {
        if (!isMissing(err, 'ParameterNotFound')) throw err;
        await ctx.call('ssm', 'PutParameter', {
          Name: p.name,
          Value: p.value,
          Type: p.type,
          ...(p.description ? { Description: p.description } : {}),
          ...(p.tier ? { Tier: p.tier } : {}),
        });
      }
    });
  }
  for (const s of model.secrets) {
    await attempt(`secret ${s.name}`, async () => {
      try {
        await ctx.call('secretsmanager', 'DescribeSecret', { SecretId: s.name });
      } catch (err) {
        if (!isMissing(err, 'ResourceNotFoundException')) throw err;
        const value = secretValue(s);
        await ctx.call('secretsmanager', 'CreateSecret', {
          Name: s.name,
          ...(s.description ? { Description: s.description } : {}),
          ...(value !== undefined ? { SecretString: value } : {}),
        });
      }
    });
  }
  for (const t of model.topics)
    await attempt(`topic ${t.name}`, () => ctx.call('sns', 'CreateTopic', { Name: t.name }));
  for (const sub of model.subscriptions) {
    await attempt(`subscription ${sub.functionName}`, () =>
      ctx.call('sns', 'Subscribe', { TopicArn: sub.topicArn, Protocol: 'lambda', Endpoint: sub.functionArn }),
    );
  }
  if (has('sfn')) {
    for (const sm of model.stateMachines) {
      await attempt(`state machine ${sm.name}`, async () => {
        try {
          await ctx.call('sfn', 'CreateStateMachine', {
            name: sm.name,
            definition: sm.definition,
            roleArn: sm.roleArn,
            type: sm.type,
          });
        } catch (err) {
          if (!isMissing(err, 'StateMachineAlreadyExists')) throw err;
          await ctx.call('sfn', 'UpdateStateMachine', {
            stateMachineArn: sm.arn,
            definition: sm.definition,
            roleArn: sm.roleArn,
          });
        }
      });
    }
  } else if (model.stateMachines.length > 0) {
    ctx.log.warn('no sfn service: state machines are not created', { count: model.stateMachines.length });
  }
  if (has('eventbridge')) {
    for (const rule of model.rules) {
      await attempt(`rule ${rule.name}`, async () => {
        await ctx.call('eventbridge', 'PutRule', {
          Name: rule.name,
          EventBusName: rule.eventBusName,
          EventPattern: JSON.stringify(rule.pattern),
          State: 'ENABLED',
        });
        await ctx.call('eventbridge', 'PutTargets', {
          Rule: rule.name,
          EventBusName: rule.eventBusName,
          Targets: [
            {
              Id: rule.targetId,
              Arn: rule.targetArn,
              ...(rule.input !== undefined ? { Input: rule.input } : {}),
              ...(rule.retryPolicy ? { RetryPolicy: rule.retryPolicy } : {}),
            },
          ],
        });
      });
    }
    for (const policy of model.busPolicies) {
      await attempt(`event bus policy ${policy.logicalId}`, () =>
        ctx.call('eventbridge', 'PutPolicyStatement', {
          EventBusName: policy.eventBusName,
          StatementId: policy.statementId,
          Statement: policy.statement as Record<string, unknown>,
        }),
      );
    }
  } else if (model.rules.length > 0) {
    ctx.log.warn('no eventbridge service: rules are not created', { count: model.rules.length });
  }
  return problems;
};
