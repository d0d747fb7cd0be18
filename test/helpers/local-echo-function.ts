import type { Context } from 'aws-lambda';

/**
 * A test-only Lambda handler for the local cloud's integration tests: returns what it received and what it saw
 * of its environment. `{ fail: "msg" }` throws, `{ sleepMs: n }` waits first (to exercise timeouts).
 */
export const handler = async (event: Record<string, unknown> | null, context: Context) => {
  if (event && typeof event.sleepMs === 'number') await new Promise((r) => setTimeout(r, event.sleepMs as number));
  if (event && typeof event.fail === 'string') {
    const err = new Error(event.fail);
    err.name = 'EchoFailure';
    throw err;
  }
  return {
    event,
    functionName: context.functionName,
    invokedFunctionArn: context.invokedFunctionArn,
    awsRequestId: context.awsRequestId,
    remainingMs: context.getRemainingTimeInMillis(),
    env: {
      AWS_LAMBDA_FUNCTION_NAME: process.env.AWS_LAMBDA_FUNCTION_NAME,
      STAGECREW_LOCAL_ENDPOINT: process.env.STAGECREW_LOCAL_ENDPOINT,
      SLACK_API_URL: process.env.SLACK_API_URL,
      ECHO_MARK: process.env.ECHO_MARK,
    },
  };
};
