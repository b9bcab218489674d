import { Arn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { TABLE } from '../../shared/adapters/aws/table.ts';

/**
 * Fixed physical name of the state table when it is a global table: the standby control region addresses its
 * replica by name (no CloudFormation reference crosses regions).
 */
export const GLOBAL_STATE_TABLE_NAME = 'failover-state';

/** What the functions' constructs need of the state table: the table, its index and exact-ARN grants. */
export interface IStateTable {
  /** The table (a replica, in the standby control region); its stream starts the dispatcher. */
  readonly table: dynamodb.ITable;
  /** ARN of the `gsi1` index. */
  readonly indexArn: string;
  /** Grants `actions` on the table and, with `index`, on `gsi1`, by their exact ARNs. */
  grantItems(grantee: iam.IGrantable, actions: readonly string[], options?: GrantItemsOptions): iam.Grant;
}

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
  /**
   * A second control region: the table becomes a global table with multi-Region strong consistency (MRSC), a
   * replica in `standby` and a witness in `witness`, named GLOBAL_STATE_TABLE_NAME. MRSC has no TTL, so expired
   * items are not deleted (readers already treat them as absent; docs/architecture.md, "Control regions").
   * @default - one regional table
   */
  readonly replication?: { readonly standby: string; readonly witness: string };
}

/**
 * The failover table (layout in shared/adapters/aws/table.ts, whose names it uses): string keys `pk`/`sk`, the
 * `gsi1` index projecting everything, on-demand billing, point-in-time recovery, deletion protection, encryption
 * with an AWS-owned key (no KMS request, cost or key policy on the failover path), and a stream of new images,
 * which starts the dispatcher when a state has pending actions. A regional table has TTL on `expiresAt`; with a
 * standby control region it is a strongly consistent global table (`replication`).
 */
export class StateTable extends Construct implements IStateTable {
  /** The table. */
  public readonly table: dynamodb.ITable;

  constructor(scope: Construct, id: string, props: StateTableProps = {}) {
    super(scope, id);
    const keys = {
      partitionKey: { name: TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE.sortKey, type: dynamodb.AttributeType.STRING },
    };
    const index = {
      indexName: TABLE.gsi1.name,
      partitionKey: { name: TABLE.gsi1.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE.gsi1.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    };
    if (props.replication) {
      this.table = new dynamodb.TableV2(this, 'GlobalTable', {
        ...keys,
        tableName: GLOBAL_STATE_TABLE_NAME,
        billing: dynamodb.Billing.onDemand(),
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        encryption: dynamodb.TableEncryptionV2.dynamoOwnedKey(),
        deletionProtection: props.deletionProtection ?? true,
        dynamoStream: dynamodb.StreamViewType.NEW_IMAGE,
        removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
        // Conditional writes and consistent reads see the latest write of either control region.
        multiRegionConsistency: dynamodb.MultiRegionConsistency.STRONG,
        replicas: [{ region: props.replication.standby }],
        witnessRegion: props.replication.witness,
        globalSecondaryIndexes: [index],
      });
      return;
    }
    const table = new dynamodb.Table(this, 'Table', {
      ...keys,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TABLE.ttlAttribute,
      encryption: dynamodb.TableEncryption.DEFAULT,
      deletionProtection: props.deletionProtection ?? true,
      stream: dynamodb.StreamViewType.NEW_IMAGE,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    table.addGlobalSecondaryIndex(index);
    this.table = table;
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
  grantItems(grantee: iam.IGrantable, actions: readonly string[], options: GrantItemsOptions = {}): iam.Grant {
    return grantItemsOf(this, grantee, actions, options);
  }
}

/**
 * The global state table's replica in the standby control region, by its fixed name. Its stream ARN carries a
 * creation label no stack can know, so a custom resource reads it (`DescribeTable`, on this table only) at
 * deployment; the primary control stack, which creates the replica, must be deployed first.
 */
export class StateTableReplica extends Construct implements IStateTable {
  /** The replica, with its stream. */
  public readonly table: dynamodb.ITable;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const stack = Stack.of(this);
    const tableArn = Arn.format(
      { service: 'dynamodb', resource: 'table', resourceName: GLOBAL_STATE_TABLE_NAME },
      stack,
    );
    const lookup = new cr.AwsCustomResource(this, 'StreamArn', {
      onUpdate: {
        service: 'DynamoDB',
        action: 'describeTable',
        parameters: { TableName: GLOBAL_STATE_TABLE_NAME },
        physicalResourceId: cr.PhysicalResourceId.of(`${GLOBAL_STATE_TABLE_NAME}-stream`),
        outputPaths: ['Table.LatestStreamArn'],
      },
      policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: [tableArn] }),
      installLatestAwsSdk: false,
    });
    this.table = dynamodb.TableV2.fromTableAttributes(this, 'Table', {
      tableArn,
      tableStreamArn: lookup.getResponseField('Table.LatestStreamArn'),
    });
    // The provider function is CDK's own, shared by the stack's AwsCustomResources.
    Validations.of(stack).acknowledge(
      {
        id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason:
          "The AwsCustomResource provider (CDK's own function) that reads the replica's stream ARN once per deployment logs through the basic execution role.",
      },
      {
        id: 'AwsSolutions::AwsSolutions-L1',
        reason:
          "The AwsCustomResource provider's runtime is chosen by aws-cdk-lib; it runs DescribeTable once per deployment.",
      },
    );
  }

  /** ARN of the `gsi1` index of the replica. */
  get indexArn(): string {
    return `${this.table.tableArn}/index/${TABLE.gsi1.name}`;
  }

  grantItems(grantee: iam.IGrantable, actions: readonly string[], options: GrantItemsOptions = {}): iam.Grant {
    return grantItemsOf(this, grantee, actions, options);
  }
}

/** Which items a grant covers: the index too, and only the partitions with these key prefixes. */
export interface GrantItemsOptions {
  readonly index?: boolean;
  /** Partition key prefixes; a request that names no partition key (a Scan) is refused then. */
  readonly leadingKeys?: readonly string[];
}

/** The one grant of both the table and its replica: exact ARNs, and IAM's `dynamodb:LeadingKeys` when asked. */
function grantItemsOf(
  table: IStateTable,
  grantee: iam.IGrantable,
  actions: readonly string[],
  options: GrantItemsOptions,
): iam.Grant {
  return iam.Grant.addToPrincipal({
    grantee,
    actions: [...actions],
    resourceArns: options.index ? [table.table.tableArn, table.indexArn] : [table.table.tableArn],
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
