/**
 * The contract between the local cloud's HTTP front door (local/server.ts) and each emulated AWS service
 * (local/services/<service>/index.ts). A service module is protocol-level pure logic: it receives a parsed
 * input, returns an output object (or throws AwsError), and reaches state, events, functions and other
 * services only through LocalContext. The server owns parsing, serialization and error shapes per protocol.
 */
import type { StateStore } from '../store/store.ts';

/** An AWS error as the wire protocols return it (code → `__type` / `<Code>`, status → HTTP status). */
export class AwsError extends Error {
  readonly code: string;
  readonly status: number;
  /** awsQuery error type: Sender (client fault) or Receiver (server fault). */
  readonly fault: 'Sender' | 'Receiver';
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.name = code;
    this.code = code;
    this.status = status;
    this.fault = status >= 500 ? 'Receiver' : 'Sender';
  }
}

/** An entry as EventBridge PutEvents takes it; the bus fills id, time, account, region. */
export type EventEntry = {
  Source: string;
  DetailType: string;
  Detail: string;
  Resources?: string[];
  EventBusName?: string;
  Time?: Date | string;
};

/** An event as EventBridge delivers it to targets. */
export type BusEvent = {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
};

export type Logger = {
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
};

export type LocalContext = {
  readonly region: string;
  readonly accountId: string;
  /** The local cloud's own base URL, e.g. http://127.0.0.1:4566 */
  readonly baseUrl: string;
  /**
   * The local cloud's state directory (`.stagecrew/` or STAGECREW_STATE_DIR), for services that keep files
   * beside the store (S3 object bytes under `<stateDir>/s3`). Optional: unit tests may leave it out.
   */
  readonly stateDir?: string;
  /** Durable state under .stagecrew/ (each service uses its own namespace prefix, e.g. 'cfn:stacks'). */
  readonly store: StateStore;
  readonly log: Logger;
  /** Puts events on the local default bus (rules match, targets are invoked asynchronously). */
  putEvents(entries: EventEntry[]): Promise<Array<{ EventId?: string; ErrorCode?: string; ErrorMessage?: string }>>;
  /**
   * Invokes a local Lambda function by name or ARN. `RequestResponse` waits for the result (a function error
   * rejects with the error); `Event` queues it with Lambda's async semantics (2 retries) and resolves at once.
   */
  invoke(
    functionNameOrArn: string,
    payload: unknown,
    invocationType?: 'RequestResponse' | 'Event',
    /** `Event` only: queue the invocation (durably) to run no sooner than this many milliseconds from now. */
    options?: { delayMs?: number },
  ): Promise<unknown>;
  /**
   * Calls another local service's operation in-process, as Step Functions `aws-sdk:` tasks do.
   * `service` is the SDK service id in lower case as in `arn:aws:states:::aws-sdk:<service>:<action>`
   * (cloudformation, s3, sns, eventbridge, dynamodb, sfn, codepipeline, …); `operation` is PascalCase.
   * The output is JSON-shaped (dates as ISO strings) except blob members, which are Buffers: S3 `GetObject`
   * returns `Body` as the object's bytes.
   */
  call(service: string, operation: string, input: Record<string, unknown>): Promise<Record<string, unknown>>;
  /**
   * The context of another account and region (local/runtime/partitions.ts): its own stacks, pipelines, buses and
   * state machines. Absent in unit tests that build a context by hand.
   */
  partition?(accountId: string, region: string): LocalContext;
  /**
   * Who signed the request being served (set per request by the server): the access key, the account it belongs to
   * and the principal's ARN. Absent for in-process calls and unsigned requests.
   */
  readonly caller?: Caller;
};

/** The principal behind a request's access key (a 12-digit key names an account; STS keys name their session). */
export type Caller = {
  accessKeyId: string;
  accountId: string;
  /** `arn:aws:iam::<account>:root`, or `arn:aws:sts::<account>:assumed-role/<role>/<session>`. */
  arn: string;
  /** For an assumed role: the role's own ARN (what `aws:PrincipalArn` evaluates to). */
  principalArn: string;
  userId: string;
};

// biome-ignore lint/suspicious/noExplicitAny: operation inputs are validated by each operation itself.
export type Operation = (input: any, ctx: LocalContext) => Promise<unknown> | unknown;

/** awsJson 1.0/1.1 services: dispatched on `X-Amz-Target: <targetPrefix>.<Operation>`. */
export type JsonService = {
  protocol: 'json';
  /** Lower-case SDK id used by `call()` and Step Functions aws-sdk ARNs (e.g. 'eventbridge', 'sfn'). */
  id: string;
  /** X-Amz-Target prefix, e.g. 'AWSEvents', 'AWSStepFunctions', 'CodePipeline_20150709', 'AmazonSSM'. */
  targetPrefix: string;
  /** SigV4 signing name (credential scope service), e.g. 'events', 'states', 'codepipeline', 'ssm'. */
  signingName: string;
  jsonVersion: '1.0' | '1.1';
  operations: Record<string, Operation>;
  /** Operations reachable only in-process through `call()` (never on the wire), e.g. a bus relaying an event. */
  internal?: Record<string, Operation>;
  /** Called once after the store is loaded: resume timers and in-flight work. */
  start?(ctx: LocalContext): Promise<void> | void;
  stop?(): Promise<void> | void;
};

/**
 * Marks an object to be serialized as an awsQuery map (`<entry><key>k</key><value>v</value></entry>`) rather
 * than as a structure. Arrays are always serialized as `<member>` lists.
 */
export class QueryMap {
  readonly entries: Record<string, unknown>;
  constructor(entries: Record<string, unknown>) {
    this.entries = entries;
  }
}

/**
 * awsQuery services (CloudFormation, SNS): dispatched on the form `Action` with the SigV4 credential scope.
 * Input: the form parameters decoded into nested objects (`X.member.N` → arrays, `X.entry.N.key/value` → maps).
 * Output: the `<Action>Result` content; the server wraps it in `<ActionResponse>` with `ResponseMetadata`.
 */
export type QueryService = {
  protocol: 'query';
  id: string;
  signingName: string;
  /** XML namespace of responses, e.g. http://cloudformation.amazonaws.com/doc/2010-05-15/ */
  xmlns: string;
  operations: Record<string, Operation>;
  internal?: Record<string, Operation>;
  start?(ctx: LocalContext): Promise<void> | void;
  stop?(): Promise<void> | void;
};

export type RawRequest = {
  method: string;
  /** Path without the query string, still percent-encoded. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: Buffer;
};
export type RawResponse = { status: number; headers?: Record<string, string>; body?: string | Buffer };

/** REST protocols (S3 restXml, SES v2 restJson): the service routes the raw request itself. */
export type RestService = {
  protocol: 'rest-json' | 'rest-xml';
  id: string;
  signingName: string;
  handle(request: RawRequest, ctx: LocalContext): Promise<RawResponse>;
  /** In-process entry for `call()`: operation name and SDK-shaped input. */
  operations?: Record<string, Operation>;
  internal?: Record<string, Operation>;
  start?(ctx: LocalContext): Promise<void> | void;
  stop?(): Promise<void> | void;
};

export type LocalService = JsonService | QueryService | RestService;
