import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { SQSClient } from '@aws-sdk/client-sqs';
import { TEST_CREDENTIALS } from './server.js';

/** An SQS client for the Kumo at `url` (the test credentials, us-east-1, no retries). */
export function sqsClient(url: string): SQSClient {
  return new SQSClient({ endpoint: url, region: 'us-east-1', credentials: TEST_CREDENTIALS, maxAttempts: 1 });
}

/** A CloudWatch Logs client for the Kumo at `url` in its `region` (the test credentials, no retries). */
export function logsClient(url: string, region: string): CloudWatchLogsClient {
  return new CloudWatchLogsClient({ endpoint: url, region, credentials: TEST_CREDENTIALS, maxAttempts: 1 });
}
