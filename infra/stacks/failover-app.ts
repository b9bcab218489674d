import { Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readAppConfig, type AppConfig } from '../config.ts';
import { ControlStack } from './control-stack.ts';
import { ProbeStack } from './probe-stack.ts';

/** The stacks of one deployment. */
export interface FailoverStacks {
  readonly appConfig: AppConfig;
  readonly control: ControlStack;
  /** Keyed by probe region. */
  readonly probes: ReadonlyMap<string, ProbeStack>;
}

/**
 * Adds the control stack and one probe stack per configured probe region to `app`, with cdk-nag's AwsSolutions
 * checks run at synthesis. Stacks carry a region and no account, so synthesis needs no credentials. Throws
 * ConfigError when the configuration is invalid.
 */
export function addFailoverStacks(app: App): FailoverStacks {
  const appConfig = readAppConfig(app);
  const { config, yaml } = appConfig;
  const control = new ControlStack(app, 'Failover-Control', {
    env: { region: config.regions.control },
    configYaml: yaml,
    config,
  });
  const probes = new Map<string, ProbeStack>();
  for (const region of config.regions.probe) {
    const stack = new ProbeStack(app, `Failover-Probe-${region}`, {
      env: { region },
      configYaml: yaml,
      controlRegion: config.regions.control,
      roundBudgetMs: config.probing.roundBudgetMs,
    });
    // No reference crosses regions; the dependency only orders deployment so that the queue exists first.
    stack.addStackDependency(control);
    probes.set(region, stack);
  }
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { appConfig, control, probes };
}
