import { describe, expect, it } from 'vitest';
import { DemoFaults, parseFault, UnknownFaultError } from '../../local/demo-faults.ts';
import { startDemoTargets } from '../../local/demo-targets.ts';
import { HttpSpec, type ProbeSpec } from '../../shared/config/checks.ts';
import { demoConfigOnFreePorts } from '../support/demo-config.ts';

describe('demo faults', () => {
  it('parses every kind of fault and lists the valid ones for anything else', async () => {
    const { config } = await demoConfigOnFreePorts();
    expect(parseFault('primary', config)).toEqual({ kind: 'target', target: 'primary' });
    expect(parseFault(' region:eu-west-1 ', config)).toEqual({ kind: 'region', region: 'eu-west-1' });
    expect(parseFault('voip-loss:25', config)).toEqual({ kind: 'voip-loss', pct: 25 });
    expect(parseFault('voip-loss:7.5%', config)).toEqual({ kind: 'voip-loss', pct: 7.5 });
    for (const bad of ['nope', 'region:mars-1', 'voip-loss:0', 'voip-loss:101', 'voip-loss:x', 'all', ''])
      expect(() => parseFault(bad, config), bad).toThrow(UnknownFaultError);
    expect(() => parseFault('nope', config)).toThrow(
      'unknown fault "nope": expected one of control, primary, backup, pbx, voice, region:us-east-1, region:us-west-2, region:eu-west-1, voip-loss:PCT (1-100)',
    );
  });

  it('breaks and heals targets, cuts regions off (their probes time out), replaces and heals voice loss', async () => {
    const { config, ports } = await demoConfigOnFreePorts();
    const targets = await startDemoTargets(config.local.demoTargets);
    try {
      const faults = new DemoFaults({ config, targets });
      const primary = targets.find((t) => t.id === 'primary')!;
      expect(faults.inject('primary').description).toBe(
        `demo target primary (http on 127.0.0.1:${ports.primary}) resets every connection`,
      );
      expect(primary.isBroken()).toBe(true);
      faults.inject('voip-loss:10');
      faults.inject('voip-loss:40');
      faults.inject('region:us-west-2');
      expect(faults.active().map((f) => f.fault)).toEqual(['primary', 'voip-loss:40', 'region:us-west-2']);

      const spec: ProbeSpec = { kind: 'http', http: HttpSpec.parse({ url: `http://127.0.0.1:${ports.backup}/` }) };
      const cut = await faults.probeFor('us-west-2')(spec, { timeoutMs: 300 });
      expect(cut).toMatchObject({ outcome: 'down', errorClass: 'timeout' });
      expect(cut.detail).toMatch(/demo fault region:us-west-2: the region is cut off/);
      expect(await faults.probeFor('us-east-1')(spec, { timeoutMs: 2000 })).toMatchObject({ outcome: 'up' });

      expect(faults.heal('voip-loss').map((f) => f.fault)).toEqual(['voip-loss:40']);
      expect(faults.heal('backup')).toEqual([]);
      expect(() => faults.heal('nope')).toThrow(UnknownFaultError);
      expect(
        faults
          .heal('all')
          .map((f) => f.fault)
          .sort(),
      ).toEqual(['primary', 'region:us-west-2']);
      expect(primary.isBroken()).toBe(false);
      expect(faults.regionCut('us-west-2')).toBe(false);
      expect(faults.active()).toEqual([]);
    } finally {
      await Promise.all(targets.map((t) => t.close()));
    }
  });
});
