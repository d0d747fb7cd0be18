import 'aws-sdk-client-mock-vitest/extend';

// Powertools: no X-Ray daemon and quiet, dev-formatted logs in tests.
process.env.POWERTOOLS_DEV ??= 'true';
process.env.POWERTOOLS_TRACE_ENABLED ??= 'false';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.AWS_REGION ??= 'us-east-1';
