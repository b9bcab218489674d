import { SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';

/**
 * An SQS client that honours an endpoint set in the environment (`AWS_ENDPOINT_URL_SQS` or `AWS_ENDPOINT_URL`, an
 * emulator such as moto): by default the SDK sends to the host of each request's queue URL, so a deployed
 * `https://sqs.<region>.amazonaws.com/...` URL would bypass the emulator. Without such a variable nothing changes:
 * the queue URL's host, as AWS intends.
 */
export function sqsClient(config: SQSClientConfig = {}): SQSClient {
  const endpointSet = Boolean(process.env.AWS_ENDPOINT_URL_SQS ?? process.env.AWS_ENDPOINT_URL);
  return new SQSClient({ ...config, ...(endpointSet ? { useQueueUrlAsEndpoint: false } : {}) });
}
