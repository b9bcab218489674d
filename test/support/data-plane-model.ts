/**
 * A model of how CloudWatch and Route 53 evaluate the data plane's synthesized resources, for tests: moto stores
 * metrics and alarms but never evaluates an alarm, and has no health checkers. It reads the alarms, health checks
 * and failover records from the templates themselves and evaluates them against metric data points:
 *
 * - an alarm looks at its last EvaluationPeriods whole periods (epoch-aligned) ending at the evaluation time; each
 *   period's statistic (Maximum, Minimum, Sum, Average, SampleCount) is compared with the threshold; a period with
 *   no data point counts by TreatMissingData (notBreaching: good, breaching: bad, ignore/missing: skipped); ALARM
 *   when at least DatapointsToAlarm periods breach, INSUFFICIENT_DATA when every period was skipped, else OK;
 * - a CLOUDWATCH_METRIC health check is unhealthy in ALARM, healthy in OK, InsufficientDataHealthStatus otherwise;
 * - a CALCULATED health check is healthy when at least HealthThreshold children are;
 * - failover records (Route 53's documented rules): the PRIMARY answers while healthy or without a health check;
 *   else the SECONDARY while healthy or without one; when both are unhealthy, the PRIMARY.
 *
 * Not modelled: CloudWatch's publication delay, Route 53's health checker intervals and regions, resolver caching.
 */

/** One synthesized stack: its region and template, as in `assembly.stacks`. */
export interface StackTemplate {
  readonly region: string;
  readonly template: { readonly Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
}

export interface DataPoint {
  readonly atMs: number;
  readonly value: number;
}

export interface ModelAlarm {
  readonly region: string;
  readonly name: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly periodSeconds: number;
  readonly statistic: string;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly threshold: number;
  readonly comparisonOperator: string;
  readonly treatMissingData: string;
}

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

interface MetricCheck {
  readonly kind: 'metric';
  readonly region: string;
  readonly alarmName: string;
  readonly insufficient: string;
}
interface CalculatedCheck {
  readonly kind: 'calculated';
  readonly children: readonly string[];
  readonly threshold: number;
}

export interface ModelRecord {
  readonly name: string;
  readonly type: string;
  readonly failover: 'PRIMARY' | 'SECONDARY';
  readonly healthCheck: string | undefined;
  readonly values: readonly string[];
}

/** The data plane as synthesized: alarms by region and name, health checks by logical id, failover records. */
export class DataPlaneModel {
  readonly alarms: readonly ModelAlarm[];
  readonly #checks = new Map<string, MetricCheck | CalculatedCheck>();
  readonly records: readonly ModelRecord[];

  constructor(stacks: readonly StackTemplate[]) {
    const alarms: ModelAlarm[] = [];
    const records: ModelRecord[] = [];
    for (const { region, template } of stacks) {
      for (const [id, r] of Object.entries(template.Resources ?? {})) {
        const p = r.Properties ?? {};
        if (r.Type === 'AWS::CloudWatch::Alarm' && typeof p.AlarmName === 'string') {
          alarms.push({
            region,
            name: p.AlarmName,
            namespace: p.Namespace as string,
            metricName: p.MetricName as string,
            dimensions: Object.fromEntries(
              ((p.Dimensions as { Name: string; Value: string }[] | undefined) ?? []).map((d) => [d.Name, d.Value]),
            ),
            periodSeconds: p.Period as number,
            statistic: p.Statistic as string,
            evaluationPeriods: p.EvaluationPeriods as number,
            datapointsToAlarm: (p.DatapointsToAlarm as number | undefined) ?? (p.EvaluationPeriods as number),
            threshold: p.Threshold as number,
            comparisonOperator: p.ComparisonOperator as string,
            treatMissingData: (p.TreatMissingData as string | undefined) ?? 'missing',
          });
        } else if (r.Type === 'AWS::Route53::HealthCheck') {
          const c = p.HealthCheckConfig as Record<string, unknown>;
          if (c.Type === 'CLOUDWATCH_METRIC') {
            const alarm = c.AlarmIdentifier as { Region: string; Name: string };
            this.#checks.set(id, {
              kind: 'metric',
              region: alarm.Region,
              alarmName: alarm.Name,
              insufficient: (c.InsufficientDataHealthStatus as string | undefined) ?? 'LastKnownStatus',
            });
          } else if (c.Type === 'CALCULATED') {
            const children = (c.ChildHealthChecks as { 'Fn::GetAtt': [string, string] }[]).map(
              (x) => x['Fn::GetAtt'][0],
            );
            this.#checks.set(id, { kind: 'calculated', children, threshold: c.HealthThreshold as number });
          }
        } else if (r.Type === 'AWS::Route53::RecordSet' && p.Failover) {
          const hc = p.HealthCheckId as { 'Fn::GetAtt': [string, string] } | undefined;
          records.push({
            name: p.Name as string,
            type: p.Type as string,
            failover: p.Failover as 'PRIMARY' | 'SECONDARY',
            healthCheck: hc?.['Fn::GetAtt'][0],
            values: p.ResourceRecords as string[],
          });
        }
      }
    }
    this.alarms = alarms;
    this.records = records;
  }

  /** The alarm named `name` in `region`; throws when the templates have none. */
  alarm(region: string, name: string): ModelAlarm {
    const found = this.alarms.find((a) => a.region === region && a.name === name);
    if (!found) throw new Error(`no alarm ${name} in ${region}`);
    return found;
  }

  /**
   * What Route 53 answers for `name` `type` at `atMs`, given each alarm's data points (keyed `<region>/<alarm>`),
   * with the health of every check it looked at.
   */
  answer(
    name: string,
    type: string,
    points: ReadonlyMap<string, readonly DataPoint[]>,
    atMs: number,
  ): { failover: 'PRIMARY' | 'SECONDARY'; values: readonly string[]; health: Map<string, boolean> } {
    const health = new Map<string, boolean>();
    const healthy = (id: string): boolean => {
      const known = health.get(id);
      if (known !== undefined) return known;
      const check = this.#checks.get(id);
      if (!check) throw new Error(`no health check ${id}`);
      let result: boolean;
      if (check.kind === 'calculated') {
        result = check.children.filter(healthy).length >= check.threshold;
      } else {
        const alarm = this.alarm(check.region, check.alarmName);
        const state = alarmState(alarm, points.get(`${check.region}/${check.alarmName}`) ?? [], atMs);
        result = state === 'OK' || (state === 'INSUFFICIENT_DATA' && check.insufficient === 'Healthy');
      }
      health.set(id, result);
      return result;
    };
    const of = (failover: string) => {
      const record = this.records.find((r) => r.name === name && r.type === type && r.failover === failover);
      if (!record) throw new Error(`no ${failover} record ${name} ${type}`);
      return record;
    };
    const primary = of('PRIMARY');
    const secondary = of('SECONDARY');
    const up = (r: ModelRecord) => r.healthCheck === undefined || healthy(r.healthCheck);
    const chosen = up(primary) ? primary : up(secondary) ? secondary : primary;
    return { failover: chosen.failover, values: chosen.values, health };
  }
}

/** The state of `alarm` evaluated at `atMs` over `points` (see the module's description). */
export function alarmState(alarm: ModelAlarm, points: readonly DataPoint[], atMs: number): AlarmState {
  const periodMs = alarm.periodSeconds * 1000;
  const last = Math.floor(atMs / periodMs) - 1;
  let breaching = 0;
  let evaluated = 0;
  for (let k = last - alarm.evaluationPeriods + 1; k <= last; k++) {
    const values = points.filter((p) => p.atMs >= k * periodMs && p.atMs < (k + 1) * periodMs).map((p) => p.value);
    if (values.length === 0) {
      if (alarm.treatMissingData === 'notBreaching') evaluated++;
      else if (alarm.treatMissingData === 'breaching') {
        evaluated++;
        breaching++;
      }
      continue;
    }
    evaluated++;
    if (compare(alarm.comparisonOperator, statistic(alarm.statistic, values), alarm.threshold)) breaching++;
  }
  if (evaluated === 0) return 'INSUFFICIENT_DATA';
  return breaching >= alarm.datapointsToAlarm ? 'ALARM' : 'OK';
}

function statistic(name: string, values: readonly number[]): number {
  switch (name) {
    case 'Maximum':
      return Math.max(...values);
    case 'Minimum':
      return Math.min(...values);
    case 'Sum':
      return values.reduce((a, b) => a + b, 0);
    case 'Average':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'SampleCount':
      return values.length;
    default:
      throw new Error(`statistic ${name} is not modelled`);
  }
}

function compare(operator: string, value: number, threshold: number): boolean {
  switch (operator) {
    case 'LessThanThreshold':
      return value < threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= threshold;
    case 'GreaterThanThreshold':
      return value > threshold;
    case 'GreaterThanOrEqualToThreshold':
      return value >= threshold;
    default:
      throw new Error(`comparison ${operator} is not modelled`);
  }
}
