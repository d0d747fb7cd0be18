import { StateMachine } from 'aws-local-stepfunctions';
import type { LocalContext } from '../types.ts';
import { AwsError } from '../types.ts';

/**
 * Task `Resource` → what the local cloud does for it, and how failures are named, as Step Functions does:
 * Lambda functions through `ctx.invoke`, `aws-sdk:<service>:<action>` and optimized integrations through
 * `ctx.call` with errors named `<Service>.<ErrorCode>Exception` (or `<Service>.<Service>Exception` for codes
 * the service's API model does not declare, e.g. CloudFormation's `ValidationError`).
 */
export type TaskKind =
  | { kind: 'lambda'; functionName: string }
  | { kind: 'lambda-invoke' }
  | { kind: 'sdk'; service: string; action: string }
  | { kind: 'wait' }
  | { kind: 'unsupported'; reason: string };
export type ParsedResource = TaskKind & { resource: string; waitForToken: boolean };

export const INTERNAL_WAIT = 'arn:aws:states:::stagecrew:wait';

/** A Task failure carrying the Step Functions error name and cause. */
export class TaskError extends Error {
  constructor(error: string, cause: string) {
    super(cause);
    this.name = error;
  }
}

/**
 * The library's own `States.Timeout` error class. Retry/Catch treat it specially (`States.TaskFailed` does not
 * match a timeout), but the package does not export it, so one 1 ms task timeout is provoked to obtain it.
 */
let TimeoutErrorClass: (new () => Error) | undefined;

export const loadTimeoutErrorClass = async (): Promise<void> => {
  if (TimeoutErrorClass) return;
  const probe = new StateMachine(
    {
      StartAt: 'Probe',
      States: {
        Probe: {
          Type: 'Task',
          Resource: 'arn:aws:lambda:us-east-1:000000000000:function:probe',
          TimeoutSeconds: 0.001,
          End: true,
        },
      },
    } as never,
    { validationOptions: { noValidate: true } },
  );
  try {
    await probe.run(null, { overrides: { taskResourceLocalHandlers: { Probe: () => new Promise(() => {}) } } }).result;
  } catch (err) {
    const cause = (err as Error).cause;
    if (cause instanceof Error && cause.name === 'States.Timeout')
      TimeoutErrorClass = cause.constructor as new () => Error;
  }
};

/** A `States.Timeout` as the library raises it (falls back to a plain named error before the class is known). */
export const statesTimeout = (cause: string): Error => {
  if (!TimeoutErrorClass) return new TaskError('States.Timeout', cause);
  const err = new TimeoutErrorClass();
  err.message = cause;
  return err;
};

export const parseResource = (resource: string): ParsedResource => {
  const waitForToken = resource.endsWith('.waitForTaskToken');
  const base = resource.replace(/\.(waitForTaskToken|sync(:2)?)$/, '');
  const lambda = /^arn:aws[a-z-]*:lambda:[^:]*:\d*:function:(.+)$/.exec(base);
  if (lambda) return { kind: 'lambda', functionName: base, resource, waitForToken };
  if (base === INTERNAL_WAIT) return { kind: 'wait', resource, waitForToken };
  if (/^arn:aws[a-z-]*:states:::lambda:invoke$/.test(base)) return { kind: 'lambda-invoke', resource, waitForToken };
  const sdk = /^arn:aws[a-z-]*:states:::aws-sdk:([a-z0-9]+):([A-Za-z0-9]+)$/.exec(base);
  if (sdk) return { kind: 'sdk', service: sdk[1] as string, action: sdk[2] as string, resource, waitForToken };
  const optimized = /^arn:aws[a-z-]*:states:::([a-z0-9]+):([A-Za-z0-9]+)$/.exec(base);
  if (optimized) {
    const service =
      optimized[1] === 'events' ? 'eventbridge' : optimized[1] === 'states' ? 'sfn' : (optimized[1] as string);
    return { kind: 'sdk', service, action: optimized[2] as string, resource, waitForToken };
  }
  return {
    kind: 'unsupported',
    reason: `Resource ${resource} is not supported by the local Step Functions`,
    resource,
    waitForToken,
  };
};

/** Service names as Step Functions prefixes SDK integration errors (the Java SDK v2 client names). */
const ERROR_PREFIX: Record<string, string> = {
  cloudformation: 'CloudFormation',
  s3: 'S3',
  sfn: 'Sfn',
  sns: 'Sns',
  sqs: 'Sqs',
  dynamodb: 'DynamoDb',
  eventbridge: 'EventBridge',
  codepipeline: 'CodePipeline',
  ssm: 'Ssm',
  secretsmanager: 'SecretsManager',
  lambda: 'Lambda',
  sesv2: 'SesV2',
};

/** Error codes that are not modeled exceptions: the SDK raises the service's generic exception for them. */
const UNMODELED = new Set([
  'ValidationError',
  'ValidationException',
  'Throttling',
  'ThrottlingException',
  'InvalidAction',
  'AccessDenied',
  'AccessDeniedException',
  'InternalFailure',
  'InternalError',
  'ServiceUnavailable',
  'MissingParameter',
  'InvalidParameterValue',
  'InvalidParameterCombination',
  'MalformedQueryString',
  'BucketNotEmpty',
  'UnknownOperationException',
  'UnknownServiceException',
]);

export const sdkErrorName = (service: string, err: unknown): TaskError => {
  const prefix = ERROR_PREFIX[service] ?? service.charAt(0).toUpperCase() + service.slice(1);
  const code = err instanceof AwsError ? err.code : err instanceof Error ? err.name : 'Error';
  const message = err instanceof Error ? err.message : String(err);
  const status = err instanceof AwsError ? err.status : 500;
  const name =
    !(err instanceof AwsError) || UNMODELED.has(code)
      ? `${prefix}.${prefix}Exception`
      : `${prefix}.${code.endsWith('Exception') ? code : `${code}Exception`}`;
  return new TaskError(name, `${message} (Service: ${prefix}, Status Code: ${status}, Error Code: ${code})`);
};

/** Lambda function errors surface with the function's errorType and a JSON cause, as in AWS. */
export const lambdaError = (err: unknown): TaskError => {
  const e = err as { name?: string; message?: string; errorType?: string; errorMessage?: string; trace?: string[] };
  if (e?.name === 'FunctionNotFoundError') {
    return new TaskError('Lambda.ResourceNotFoundException', `${e.message ?? ''} (Service: Lambda, Status Code: 404)`);
  }
  if (err instanceof AwsError) return sdkErrorName('lambda', err);
  const errorType = e?.errorType ?? e?.name ?? 'Error';
  const errorMessage = e?.errorMessage ?? e?.message ?? String(err);
  return new TaskError(errorType, JSON.stringify({ errorMessage, errorType, trace: e?.trace ?? [] }));
};

/** Services whose APIs use camelCase members: Step Functions passes PascalCase and reads PascalCase back. */
const CAMEL_CASE_APIS = new Set(['sfn', 'codepipeline']);
/** Free-form maps inside those APIs whose keys are user data, never renamed. */
const OPAQUE = new Set(['configuration', 'outputVariables', 'Configuration', 'OutputVariables']);

const convertKeys = (value: unknown, rename: (k: string) => string): unknown => {
  if (Array.isArray(value)) return value.map((v) => convertKeys(v, rename));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [
      rename(k),
      OPAQUE.has(k) ? v : convertKeys(v, rename),
    ]),
  );
};
const lower = (k: string) => k.charAt(0).toLowerCase() + k.slice(1);
const upper = (k: string) => k.charAt(0).toUpperCase() + k.slice(1);

export const pascalCase = upper;

/**
 * `call()` returns blob members (S3 GetObject `Body`) as bytes; Step Functions' SDK integration returns them as
 * text (task outputs are JSON), so they are decoded as UTF-8 here.
 */
const blobsAsText = (value: unknown): unknown => {
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (Array.isArray(value)) return value.map(blobsAsText);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, blobsAsText(v)]));
};

export const runSdk = async (ctx: LocalContext, service: string, action: string, input: unknown): Promise<unknown> => {
  const camel = CAMEL_CASE_APIS.has(service);
  const args = (camel ? convertKeys(input ?? {}, lower) : (input ?? {})) as Record<string, unknown>;
  let out: Record<string, unknown>;
  try {
    out = blobsAsText(await ctx.call(service, upper(action), args)) as Record<string, unknown>;
  } catch (err) {
    throw sdkErrorName(service, err);
  }
  return camel ? convertKeys(out, upper) : out;
};

export const runLambda = async (
  ctx: LocalContext,
  functionName: string,
  payload: unknown,
  type: 'RequestResponse' | 'Event' = 'RequestResponse',
) => {
  try {
    return await ctx.invoke(functionName, payload, type);
  } catch (err) {
    throw lambdaError(err);
  }
};

/** The `arn:aws:states:::lambda:invoke` result envelope. */
export const lambdaInvokeResult = (payload: unknown, type: 'RequestResponse' | 'Event') => ({
  ExecutedVersion: '$LATEST',
  Payload: payload ?? null,
  SdkHttpMetadata: { HttpStatusCode: type === 'Event' ? 202 : 200 },
  SdkResponseMetadata: { RequestId: crypto.randomUUID() },
  StatusCode: type === 'Event' ? 202 : 200,
});
