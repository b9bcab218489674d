import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { TABLE } from '../../shared/adapters/aws/table.ts';

/** Props of a {@link StateTable}. */
export interface StateTableProps {
  /**
   * What happens to the table when it leaves the stack. Sites' state, transitions and incidents are the only record
   * of what the system did: keep them.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Refuse DeleteTable while set.
   * @default true
   */
  readonly deletionProtection?: boolean;
}

/**
 * The failover table (layout in shared/adapters/aws/table.ts, whose names it uses): string keys `pk`/`sk`, the
 * `gsi1` index projecting everything, TTL on `expiresAt`, on-demand billing, point-in-time recovery, deletion
 * protection, encryption with an AWS-owned key (no KMS request, cost or key policy on the failover path), and a
 * stream of new images, which starts the dispatcher when a state has pending actions.
 */
export class StateTable extends Construct {
  /** The table. */
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: StateTableProps = {}) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TABLE.ttlAttribute,
      encryption: dynamodb.TableEncryption.DEFAULT,
      deletionProtection: props.deletionProtection ?? true,
      stream: dynamodb.StreamViewType.NEW_IMAGE,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: TABLE.gsi1.name,
      partitionKey: { name: TABLE.gsi1.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE.gsi1.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }

  /** ARN of the `gsi1` index. */
  get indexArn(): string {
    return `${this.table.tableArn}/index/${TABLE.gsi1.name}`;
  }

  /**
   * Grants `actions` on the table and, with `index`, on `gsi1`, by their exact ARNs. `table.grant` would add
   * `<table>/index/*`, a wildcard resource cdk-nag rightly flags. With `leadingKeys` (partition key prefixes, e.g.
   * `AGENT#`), only on items whose partition key starts with one of them (IAM's `dynamodb:LeadingKeys`); a request
   * that names no partition key, a Scan, is refused then.
   */
  grantItems(
    grantee: iam.IGrantable,
    actions: readonly string[],
    options: { index?: boolean; leadingKeys?: readonly string[] } = {},
  ): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [...actions],
      resourceArns: options.index ? [this.table.tableArn, this.indexArn] : [this.table.tableArn],
      ...(options.leadingKeys
        ? {
            conditions: {
              'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': options.leadingKeys.map((p) => `${p}*`) },
              // ForAllValues holds for a request without the key at all: require it.
              Null: { 'dynamodb:LeadingKeys': 'false' },
            },
          }
        : {}),
    });
  }
}
