/**
 * Runs inside one worker_thread per function instance, like a Lambda execution environment: the handler module
 * is imported once (cold start), then invocations arrive one at a time as messages. `process.env` is the
 * function's own environment (set by the invoker through the Worker `env` option).
 */
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

type Init = { modulePath: string; exportName: string; functionName: string; functionArn: string; memoryMb: number };
type Invocation = { requestId: string; event: unknown; deadline: number };

const init = workerData as Init;
const port = parentPort;
if (!port) throw new Error('function-worker must run in a worker thread');

const loaded: Promise<(event: unknown, context: unknown) => unknown> = import(pathToFileURL(init.modulePath).href).then(
  (mod: Record<string, unknown>) => {
    const fn = mod[init.exportName];
    if (typeof fn !== 'function') {
      const err = new Error(`${init.modulePath} does not export a function named ${init.exportName}`);
      err.name = 'Runtime.HandlerNotFound';
      throw err;
    }
    return fn as (event: unknown, context: unknown) => unknown;
  },
);

loaded.catch(() => undefined); // reported per invocation, never as an unhandled rejection
// Init (the module import) is timed apart from invocations, as Lambda's init phase is: say when it is over.
loaded.then(
  () => port.postMessage({ type: 'ready' }),
  () => port.postMessage({ type: 'ready' }),
);

const toPlain = (value: unknown): unknown => (value === undefined ? null : JSON.parse(JSON.stringify(value)));

port.on('message', async (msg: Invocation) => {
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: init.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: init.functionArn,
    memoryLimitInMB: String(init.memoryMb),
    awsRequestId: msg.requestId,
    logGroupName: `/aws/lambda/${init.functionName}`,
    logStreamName: `local/[$LATEST]${msg.requestId.replace(/-/g, '')}`,
    getRemainingTimeInMillis: () => Math.max(0, msg.deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  try {
    const handler = await loaded;
    const result = await handler(msg.event, context);
    port.postMessage({ requestId: msg.requestId, ok: true, result: toPlain(result) });
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    port.postMessage({
      requestId: msg.requestId,
      ok: false,
      errorType: e.name || 'Error',
      errorMessage: e.message,
      trace: (e.stack ?? '').split('\n'),
    });
  }
});
