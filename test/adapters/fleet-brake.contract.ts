import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/load.ts';
import type { FailoverConfig } from '../../shared/config/model.ts';
import type { FleetBrake } from '../../shared/domain/brake.ts';
import { FleetBrakeConflictError, type StateStore } from '../../shared/ports/state-store.ts';
import { admitFailover } from '../../shared/usecases/admit-failover.ts';
import { twoLinkConfigYaml } from '../support/two-link-site.ts';

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);

/** A fleet of `count` sites whose brake lets `minSites` fail over in ten minutes (maxShare is below one site). */
function fleetConfig(count: number, minSites: number): FailoverConfig {
  const sites = Array.from({ length: count }, (_, i) => ({ id: `s${i}` }));
  const text = twoLinkConfigYaml({
    sites,
    extra: `brake: { maxShare: 0.01, minSites: ${minSites}, windowSeconds: 600 }`,
  });
  const { config, diagnostics } = parseConfig(text);
  expect(diagnostics).toEqual([]);
  return config!;
}

const brakeOf = (entries: Record<string, number>): FleetBrake => ({ v: 1, entries, engagement: null, updatedAt: T0 });

/**
 * The fleet item of the mass-failover brake, on a store whose table no other suite writes the item of
 * (`freshStore` makes one per test): versioned conditional writes, and racing deciders that cannot overrun it.
 */
export function fleetBrakeContract(name: string, freshStore: () => Promise<StateStore>): void {
  describe(`fleet brake item: ${name}`, () => {
    const store = freshStore;

    it('reads null before the first write, then exactly what was written with its version', async () => {
      const s = await store();
      expect(await s.loadFleetBrake()).toBeNull();
      const first = brakeOf({ s1: T0 });
      await s.saveFleetBrake(first, null);
      expect(await s.loadFleetBrake()).toEqual({ brake: first, version: 1 });
      const second: FleetBrake = {
        ...brakeOf({ s1: T0, s2: T0 + 1 }),
        engagement: { id: 'brake-x', since: T0 + 2, announcer: 's3' },
      };
      await s.saveFleetBrake(second, 1);
      expect(await s.loadFleetBrake()).toEqual({ brake: second, version: 2 });
      const released: FleetBrake = {
        ...second,
        engagement: null,
        release: { engagement: 'brake-x', by: 'alice', reason: 'checked', at: T0 + 3, until: T0 + 3 + 900_000 },
      };
      await s.saveFleetBrake(released, 2);
      expect(await s.loadFleetBrake()).toEqual({ brake: released, version: 3 });
    });

    it('refuses a write over a stale version or onto an existing item, and changes nothing', async () => {
      const s = await store();
      await s.saveFleetBrake(brakeOf({ s1: T0 }), null);
      await expect(s.saveFleetBrake(brakeOf({ s9: T0 }), null)).rejects.toBeInstanceOf(FleetBrakeConflictError);
      await s.saveFleetBrake(brakeOf({ s2: T0 }), 1);
      await expect(s.saveFleetBrake(brakeOf({ s9: T0 }), 1)).rejects.toBeInstanceOf(FleetBrakeConflictError);
      expect(await s.loadFleetBrake()).toEqual({ brake: brakeOf({ s2: T0 }), version: 2 });
    });

    it('lets exactly one of 12 racing deciders take the last slot; exactly one held decider announces', async () => {
      const s = await store();
      const config = fleetConfig(20, 3);
      // Two of three slots are taken.
      for (const site of ['s0', 's1'])
        expect(await admitFailover({ config, store: s }, { site, now: T0, probesRuledOut: false })).toMatchObject({
          admitted: true,
          by: 'slot',
        });
      const racers = Array.from({ length: 12 }, (_, i) => `s${i + 2}`);
      const results = await Promise.all(
        racers.map((site) =>
          admitFailover({ config, store: s, maxAttempts: 200 }, { site, now: T0 + 1000, probesRuledOut: false }),
        ),
      );
      const winners = racers.filter((_, i) => results[i]!.admitted);
      expect(winners).toHaveLength(1);
      const held = results.filter((r) => !r.admitted);
      expect(held).toHaveLength(11);
      const announcers = held.filter((r) => !r.admitted && r.hold.announce);
      expect(announcers).toHaveLength(1);
      const stored = (await s.loadFleetBrake())!.brake;
      expect(Object.keys(stored.entries).sort()).toEqual(['s0', 's1', winners[0]!].sort());
      expect(held.every((r) => !r.admitted && r.hold.engagement.id === stored.engagement!.id)).toBe(true);
      expect(stored.engagement!.announcer).not.toBe(winners[0]);
    });

    it('lets a site that holds a slot in again without a second one (a retry after a crash before its commit)', async () => {
      const s = await store();
      const config = fleetConfig(20, 2);
      await admitFailover({ config, store: s }, { site: 's0', now: T0, probesRuledOut: false });
      // s0 took its slot and crashed before committing its state; its batch comes back twice.
      for (const at of [1000, 2000])
        expect(
          await admitFailover({ config, store: s }, { site: 's0', now: T0 + at, probesRuledOut: false }),
        ).toMatchObject({ admitted: true, by: 'in-window' });
      expect(
        await admitFailover({ config, store: s }, { site: 's1', now: T0 + 3000, probesRuledOut: false }),
      ).toMatchObject({ admitted: true, by: 'slot' });
      expect(Object.keys((await s.loadFleetBrake())!.brake.entries).sort()).toEqual(['s0', 's1']);
    });
  });
}
