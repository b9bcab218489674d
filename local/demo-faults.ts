import { setTimeout as sleep } from 'node:timers/promises';
import type { ProbeSpec } from '../shared/config/checks.ts';
import type { FailoverConfig } from '../shared/config/model.ts';
import type { ProbeResult } from '../shared/contracts/observation.ts';
import { FailoverError } from '../shared/errors.ts';
import { runProbe } from '../shared/probes/index.ts';
import { down } from '../shared/probes/result.ts';
import type { ProbeContext } from '../shared/probes/types.ts';
import type { DemoTarget } from './demo-targets.ts';
import { regionOfVantage, regionVantage } from '../shared/contracts/ids.ts';

/** A fault the demo can inject: a broken demo target, a probe region cut off, or loss on the voice path. */
export type DemoFault =
  | { readonly kind: 'target'; readonly target: string }
  | { readonly kind: 'region'; readonly region: string }
  | { readonly kind: 'voip-loss'; readonly pct: number };

/** An active fault, as the demo API lists it. */
export interface ActiveFault {
  /** Its name, as `failover demo break` takes it: `primary`, `region:eu-west-1`, `voip-loss:30`. */
  readonly fault: string;
  readonly description: string;
  /** ISO time it was injected. */
  readonly since: string;
}

/** A fault name that is not one of the configuration's. */
export class UnknownFaultError extends FailoverError {
  readonly valid: readonly string[];

  constructor(given: string, valid: readonly string[]) {
    super('UNKNOWN_FAULT', `unknown fault "${given}": expected one of ${valid.join(', ')}`);
    this.name = 'UnknownFaultError';
    this.valid = valid;
  }
}

/** The name of a fault, as parseFault reads it back. */
export function faultName(fault: DemoFault): string {
  if (fault.kind === 'target') return fault.target;
  if (fault.kind === 'region') return regionVantage(fault.region);
  return `voip-loss:${fault.pct}`;
}

/**
 * The faults a runtime can inject, for error messages and `GET /v1/demo/faults`: each demo target by id,
 * `region:<name>` for each probe region, and `voip-loss:PCT` when an echo target exists.
 */
export function validFaults(config: FailoverConfig): string[] {
  const targets = config.local.demoTargets;
  return [
    ...targets.map((t) => t.id),
    ...config.regions.probe.map(regionVantage),
    ...(targets.some((t) => t.kind === 'echo') ? ['voip-loss:PCT (1-100)'] : []),
  ];
}

/** Reads a fault name (`primary`, `region:eu-west-1`, `voip-loss:30`); throws UnknownFaultError listing the valid ones. */
export function parseFault(text: string, config: FailoverConfig): DemoFault {
  const name = text.trim();
  const targets = config.local.demoTargets;
  if (targets.some((t) => t.id === name)) return { kind: 'target', target: name };
  const region = regionOfVantage(name);
  if (region !== null && config.regions.probe.includes(region)) return { kind: 'region', region };
  const pct = /^voip-loss:(\d+(?:\.\d+)?)%?$/.exec(name)?.[1];
  if (pct !== undefined && targets.some((t) => t.kind === 'echo')) {
    const n = Number(pct);
    if (n > 0 && n <= 100) return { kind: 'voip-loss', pct: n };
  }
  throw new UnknownFaultError(name, validFaults(config));
}

/**
 * The demo's fault switches over a running runtime's demo targets and probe regions. Faults live in memory: a
 * restarted runtime starts healthy.
 */
export class DemoFaults {
  readonly #config: FailoverConfig;
  readonly #targets: readonly DemoTarget[];
  readonly #now: () => number;
  readonly #active = new Map<string, { fault: DemoFault; since: number }>();

  constructor(options: { config: FailoverConfig; targets: readonly DemoTarget[]; now?: () => number }) {
    this.#config = options.config;
    this.#targets = options.targets;
    this.#now = options.now ?? Date.now;
  }

  /** Every fault that can be injected (see validFaults). */
  valid(): string[] {
    return validFaults(this.#config);
  }

  /** Injects `fault` (a name, see parseFault); a second voip-loss replaces the first. */
  inject(text: string): ActiveFault {
    const fault = parseFault(text, this.#config);
    if (fault.kind === 'target') this.#target(fault.target).setBroken(true);
    if (fault.kind === 'voip-loss') {
      for (const key of [...this.#active.keys()]) if (key.startsWith('voip-loss:')) this.#active.delete(key);
      for (const t of this.#targets.filter((t) => t.kind === 'echo')) t.setLoss(fault.pct);
    }
    const name = faultName(fault);
    const since = this.#active.get(name)?.since ?? this.#now();
    this.#active.set(name, { fault, since });
    return this.#view(name, fault, since);
  }

  /**
   * Heals `text` (a name; `voip-loss` alone heals any loss) or every fault with `all`; returns what was healed, each
   * described as it is now.
   */
  heal(text: string): ActiveFault[] {
    const name = text.trim();
    let names: string[];
    if (name === 'all') names = [...this.#active.keys()];
    else if (name === 'voip-loss') names = [...this.#active.keys()].filter((k) => k.startsWith('voip-loss:'));
    else {
      const fault = parseFault(name, this.#config);
      names =
        fault.kind === 'voip-loss'
          ? [...this.#active.keys()].filter((k) => k.startsWith('voip-loss:'))
          : [faultName(fault)];
    }
    const healed: ActiveFault[] = [];
    for (const key of names) {
      const entry = this.#active.get(key);
      if (!entry) continue;
      const { fault, since } = entry;
      if (fault.kind === 'target') this.#target(fault.target).setBroken(false);
      if (fault.kind === 'voip-loss') for (const t of this.#targets.filter((t) => t.kind === 'echo')) t.setLoss(0);
      this.#active.delete(key);
      healed.push({ fault: key, description: this.#describeHealed(fault), since: new Date(since).toISOString() });
    }
    return healed;
  }

  /** The active faults, oldest first. */
  active(): ActiveFault[] {
    return [...this.#active.entries()]
      .sort(([, a], [, b]) => a.since - b.since)
      .map(([name, { fault, since }]) => this.#view(name, fault, since));
  }

  /** Whether probe region `region` is cut off. */
  regionCut(region: string): boolean {
    return this.#active.has(regionVantage(region));
  }

  /**
   * The probe of region `region`'s rounds: the real one, or, while the region is cut off, one that hears nothing
   * until its deadline (control checks included, so the region judges itself impaired and abstains).
   */
  probeFor(region: string): (spec: ProbeSpec, ctx: ProbeContext) => Promise<ProbeResult> {
    return async (spec, ctx) => {
      if (!this.regionCut(region)) return runProbe(spec, ctx);
      const started = performance.now();
      await sleep(ctx.timeoutMs, undefined, ctx.signal ? { signal: ctx.signal } : {}).catch(() => undefined);
      const ms = Math.round(performance.now() - started);
      return down('timeout', `no answer within ${ms} ms (demo fault region:${region}: the region is cut off)`, null);
    };
  }

  #target(id: string): DemoTarget {
    const target = this.#targets.find((t) => t.id === id);
    if (!target) throw new UnknownFaultError(id, this.valid());
    return target;
  }

  #view(name: string, fault: DemoFault, since: number): ActiveFault {
    return { fault: name, description: this.#describe(fault), since: new Date(since).toISOString() };
  }

  #describeHealed(fault: DemoFault): string {
    if (fault.kind === 'region') return `probe region ${fault.region} reaches everything again`;
    if (fault.kind === 'voip-loss') return 'the voice echo drops no packets again';
    const t = this.#target(fault.target);
    return `demo target ${t.id} (${t.kind} on ${t.host}:${t.port}) answers again`;
  }

  #describe(fault: DemoFault): string {
    if (fault.kind === 'region')
      return `probe region ${fault.region} is cut off: its checks, control checks included, time out, so it abstains`;
    if (fault.kind === 'voip-loss') {
      const echo = this.#targets.filter((t) => t.kind === 'echo').map((t) => `${t.id} (${t.host}:${t.port})`);
      return `the voice echo ${echo.join(', ')} drops ${fault.pct}% of packets: MOS falls`;
    }
    const t = this.#target(fault.target);
    const what =
      t.kind === 'http' ? 'resets every connection' : t.kind === 'sip' ? 'stays silent' : 'drops every datagram';
    return `demo target ${t.id} (${t.kind} on ${t.host}:${t.port}) ${what}`;
  }
}
