import { Validations, type App, type Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { dataPlaneLinksOf } from '../../shared/config/data-plane.ts';
import type { FailoverConfig } from '../../shared/config/model.ts';
import { readAppConfig, type AppConfig } from '../config.ts';
import { alertContactsOf } from '../constructs/alert-topics.ts';
import { ControlStack } from './control-stack.ts';
import { ControlStandbyStack } from './control-standby-stack.ts';
import { alarmShards, DnsStack, dnsShards, LinkAlarmsStack } from './data-plane-stacks.ts';
import { ProbeStack } from './probe-stack.ts';

/** The stacks of one deployment. */
export interface FailoverStacks {
  readonly appConfig: AppConfig;
  readonly control: ControlStack;
  /** The standby control region's stack, with two control regions. */
  readonly standby: ControlStandbyStack | undefined;
  /** Keyed by probe region. */
  readonly probes: ReadonlyMap<string, ProbeStack>;
  /** The link alarm stacks of each probe region (none without health-check-gated records). */
  readonly linkAlarms: ReadonlyMap<string, readonly LinkAlarmsStack[]>;
  /** The Route 53 data-plane stacks (health checks and failover records). */
  readonly dns: readonly DnsStack[];
}

/**
 * Adds the data plane's stacks for the health-check-gated records of `config`: per probe region its link alarms,
 * 450 a stack, each after that region's stack in `probes` (whose topic the alarms name); then the Route 53 health
 * checks and failover records, a stack per group of whole sites (dnsShards), each after every alarm stack.
 */
export function addDataPlaneStacks(
  app: App,
  config: FailoverConfig,
  probes: ReadonlyMap<string, Stack> = new Map(),
): Pick<FailoverStacks, 'linkAlarms' | 'dns'> {
  const linkAlarms = new Map<string, LinkAlarmsStack[]>();
  const shards = alarmShards(config);
  for (const region of config.regions.probe) {
    linkAlarms.set(
      region,
      shards.map((links, i) => {
        const alarms = new LinkAlarmsStack(app, `Failover-LinkAlarms-${region}-${i + 1}`, { env: { region }, links });
        // The alarms' action is the region's topic, named by ARN.
        const probe = probes.get(region);
        if (probe) alarms.addStackDependency(probe);
        return alarms;
      }),
    );
  }
  const dns = dnsShards(config).map((sites, i) => {
    const stack = new DnsStack(app, `Failover-Dns-${i + 1}`, {
      env: { region: config.regions.control },
      sites,
      probeRegions: config.regions.probe,
    });
    // Route 53 refuses a health check on an alarm that does not exist yet.
    for (const stacks of linkAlarms.values()) for (const s of stacks) stack.addStackDependency(s);
    return stack;
  });
  return { linkAlarms, dns };
}

/**
 * Adds the control stack, one probe stack per configured probe region and, for health-check-gated records, the
 * data plane's stacks (link alarms per probe region, Route 53 health checks and records) to `app`, with cdk-nag's
 * AwsSolutions checks run at synthesis. Stacks carry a region and no account, so synthesis needs no credentials.
 * Throws ConfigError when the configuration is invalid.
 */
export function addFailoverStacks(app: App): FailoverStacks {
  const appConfig = readAppConfig(app);
  const { config, yaml } = appConfig;
  const control = new ControlStack(app, 'Failover-Control', {
    env: { region: config.regions.control },
    configYaml: yaml,
    config,
  });
  // The standby's replica is created by the primary's global table, so the standby deploys after it.
  const standby = config.regions.standby
    ? new ControlStandbyStack(app, 'Failover-Control-Standby', {
        env: { region: config.regions.standby },
        configYaml: yaml,
        config,
      })
    : undefined;
  standby?.addStackDependency(control);
  const contacts = alertContactsOf(config);
  const publishesLinkHealth = dataPlaneLinksOf(config).length > 0;
  const probes = new Map<string, ProbeStack>();
  for (const region of config.regions.probe) {
    const stack = new ProbeStack(app, `Failover-Probe-${region}`, {
      env: { region },
      configYaml: yaml,
      controlRegion: config.regions.control,
      ...(config.regions.standby ? { standbyRegion: config.regions.standby } : {}),
      roundBudgetMs: config.probing.roundBudgetMs,
      contacts,
      publishesLinkHealth,
    });
    // No reference crosses regions; the dependency only orders deployment so that the queue exists first.
    stack.addStackDependency(control);
    if (standby) stack.addStackDependency(standby);
    probes.set(region, stack);
  }
  const { linkAlarms, dns } = addDataPlaneStacks(app, config, probes);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { appConfig, control, standby, probes, linkAlarms, dns };
}
