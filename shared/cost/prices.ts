/**
 * AWS list prices used by `failover cost`: us-east-1, on-demand, in US dollars, as published on each service's
 * pricing page (the `source`), transcribed in 2026 (`asOf`). Prices change and differ by region: re-check the pages
 * before quoting a figure. Free tiers are listed separately (FREE_TIER); every price here is before them.
 */

/** One unit price and where it comes from. */
export interface UnitPrice {
  readonly usd: number;
  /** What one unit is. */
  readonly unit: string;
  readonly source: string;
  /** When the price was taken from the source. */
  readonly asOf: string;
}

const AS_OF = '2026';
const price = (usd: number, unit: string, page: string): UnitPrice => ({
  usd,
  unit,
  source: `https://aws.amazon.com/${page}/pricing/`,
  asOf: AS_OF,
});

export const PRICES = {
  lambdaRequest: price(0.2 / 1e6, 'request', 'lambda'),
  lambdaGbSecondArm: price(0.0000133334, 'GB-second (arm64)', 'lambda'),
  sqsStandardRequest: price(0.4 / 1e6, 'request (64 KiB chunk), standard queue', 'sqs'),
  sqsFifoRequest: price(0.5 / 1e6, 'request (64 KiB chunk), FIFO queue', 'sqs'),
  dynamoWriteUnit: price(0.625 / 1e6, 'write request unit (1 KB), on-demand', 'dynamodb'),
  dynamoReadUnit: price(0.125 / 1e6, 'read request unit (4 KB strongly consistent), on-demand', 'dynamodb'),
  dynamoStorage: price(0.25, 'GB-month, standard table class', 'dynamodb'),
  schedulerInvocation: price(1 / 1e6, 'EventBridge Scheduler invocation', 'eventbridge'),
  snsPublish: price(0.5 / 1e6, 'publish request (64 KiB chunk), standard topic', 'sns'),
  snsEmail: price(2 / 1e5, 'email notification', 'sns'),
  // AWS End User Messaging base price to a US number plus an average 10DLC carrier fee; other countries differ.
  snsSmsUs: price(0.00883, 'SMS to a US number (base $0.00581 + carrier fee about $0.00302)', 'end-user-messaging'),
  apiHttpRequest: price(1 / 1e6, 'HTTP API request (512 KB chunk)', 'api-gateway'),
  apiWebSocketMessage: price(1 / 1e6, 'WebSocket message, sent or received (32 KB chunk)', 'api-gateway'),
  apiWebSocketMinute: price(0.25 / 1e6, 'WebSocket connection minute', 'api-gateway'),
  route53HealthCheckAws: price(
    0.5,
    'health check-month, AWS endpoint (assumed for alarm and calculated ones)',
    'route53',
  ),
  route53HealthCheckOther: price(0.75, 'health check-month, non-AWS endpoint', 'route53'),
  route53OptionAws: price(1, 'optional feature-month per health check, AWS endpoint', 'route53'),
  route53OptionOther: price(2, 'optional feature-month per health check, non-AWS endpoint', 'route53'),
  route53Query: price(0.4 / 1e6, 'standard DNS query (simple and failover records)', 'route53'),
  cloudwatchMetric: price(0.3, 'custom metric-month (name x dimension set), first 10,000', 'cloudwatch'),
  cloudwatchAlarm: price(0.1, 'standard-resolution alarm metric-month', 'cloudwatch'),
  cloudwatchDashboard: price(3, 'dashboard-month', 'cloudwatch'),
  cloudwatchLogIngest: price(0.5, 'GB of logs ingested (standard class)', 'cloudwatch'),
  cloudwatchLogStorage: price(0.03, 'GB-month of logs stored (compressed)', 'cloudwatch'),
  cloudwatchPutMetricData: price(0.01 / 1000, 'PutMetricData request', 'cloudwatch'),
  syntheticsRun: price(0.0012, 'CloudWatch Synthetics canary run (plus its Lambda, S3 and logs)', 'cloudwatch'),
  secretsSecret: price(0.4, 'secret-month', 'secrets-manager'),
  secretsApiCall: price(0.05 / 1e4, 'API call', 'secrets-manager'),
  kmsKey: price(1, 'customer-managed key-month', 'kms'),
  kmsRequest: price(0.03 / 1e4, 'KMS request', 'kms'),
  xrayTrace: price(5 / 1e6, 'trace recorded', 'xray'),
  dataTransferInterRegion: price(0.02, 'GB sent to another region (inter-region data transfer, US and EU)', 'ec2'),
} as const satisfies Record<string, UnitPrice>;

export type PriceId = keyof typeof PRICES;

/**
 * The always-free tier (not the 12-month one) per account and month, in the units of PRICES. It is shared with
 * everything else the account runs, so the report shows it apart and never counts it in the list-price total.
 */
export const FREE_TIER: Partial<Record<PriceId, number>> = {
  lambdaRequest: 1_000_000,
  lambdaGbSecondArm: 400_000,
  sqsStandardRequest: 1_000_000,
  snsPublish: 1_000_000,
  snsEmail: 1_000,
  schedulerInvocation: 14_000_000,
  cloudwatchMetric: 10,
  cloudwatchAlarm: 10,
  cloudwatchDashboard: 3,
  cloudwatchLogIngest: 5,
  dynamoStorage: 25,
  kmsRequest: 20_000,
  xrayTrace: 100_000,
  syntheticsRun: 100,
};

/** Hours in the billing month AWS uses for monthly prices (and so 43,800 minutes). */
export const HOURS_PER_MONTH = 730;
export const MINUTES_PER_MONTH = HOURS_PER_MONTH * 60;
