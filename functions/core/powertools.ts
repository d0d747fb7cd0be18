import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/**
 * One Logger and Metrics per container (the Tracer is optional and lives in tracing.ts). Service name and log level
 * come from the POWERTOOLS_* environment set in template.yaml Globals. Never log whole events: CodePipeline job
 * events carry live AWS credentials and approval messages carry approval tokens.
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'stagecrew' });
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Stagecrew',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'stagecrew',
});
