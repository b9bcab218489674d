import type { FailoverConfig, PlannedCheck } from '../config/model.ts';
import { MAX_OPEN_CHECKS } from './pace.ts';
import { roundIdFor } from './round.ts';

/** A round one region is due to run: when, its id, and the checks due then (control checks included). */
export interface PlannedRound {
  readonly atMs: number;
  readonly roundId: string;
  readonly checks: readonly PlannedCheck[];
}

/**
 * Rounds of `region` that start in [fromMs, toMs). A site's rounds fall every `intervalSeconds` on the epoch grid,
 * and region i of n starts i/n of an interval later than region 0, so that the regions of a quorum see a fault at
 * different moments and the earliest one is as early as possible. Sites due at the same instant share a round.
 */
export function planRounds(config: FailoverConfig, region: string, fromMs: number, toMs: number): PlannedRound[] {
  const index = config.regions.probe.indexOf(region);
  if (index < 0) throw new Error(`"${region}" is not a probe region of this configuration`);
  const count = config.regions.probe.length;
  const due = new Map<number, PlannedCheck[]>();
  for (const site of config.sites) {
    const intervalMs = site.policy.intervalSeconds * 1000;
    const offset = Math.floor((intervalMs * index) / count);
    for (let t = Math.ceil((fromMs - offset) / intervalMs) * intervalMs + offset; t < toMs; t += intervalMs) {
      const list = due.get(t) ?? [];
      list.push(...site.checks);
      due.set(t, list);
    }
  }
  return [...due.keys()]
    .sort((a, b) => a - b)
    .map((atMs) => ({ atMs, roundId: roundIdFor(atMs), checks: [...config.controlChecks, ...due.get(atMs)!] }));
}

/** One shard of a planned round: the invocation that runs it. Every shard of a round has the round's id. */
export interface PlannedTicket extends PlannedRound {
  /** 0-based index of this shard in its round. */
  readonly shard: number;
  /** How many shards the round has. */
  readonly shards: number;
}

/**
 * Most checks one ticket runs, control checks included: `probing.maxChecksPerTicket`, by default the open-check cap
 * (MAX_OPEN_CHECKS), so that even when every target of a ticket hangs, each of its checks gets a socket.
 */
export function ticketCapacityOf(config: FailoverConfig): number {
  return config.probing.maxChecksPerTicket ?? MAX_OPEN_CHECKS;
}

/**
 * Splits a round into tickets of at most `capacity` checks each, as even as whole sites allow (a site is never
 * split: its batch of a round has one deduplication id). Every ticket runs all the round's control checks, so that
 * every site batch carries the judgement of the invocation that probed it. A site with more checks than a ticket
 * holds beside the control checks gets a ticket of its own.
 */
export function shardRound(round: PlannedRound, capacity: number): PlannedTicket[] {
  const control = round.checks.filter((c) => c.site === null);
  const sites: PlannedCheck[][] = [];
  for (const check of round.checks) {
    if (check.site === null) continue;
    const last = sites.at(-1);
    if (last?.[0]!.site === check.site) last.push(check);
    else sites.push([check]);
  }
  const room = Math.max(1, capacity - control.length);
  const shards = evenShards(sites, room) ?? greedyShards(sites, room);
  if (shards.length === 0) return [{ ...round, checks: control, shard: 0, shards: 1 }];
  return shards.map((s, shard) => ({
    atMs: round.atMs,
    roundId: round.roundId,
    checks: [...control, ...s.flat()],
    shard,
    shards: shards.length,
  }));
}

const sizeOf = (shard: readonly PlannedCheck[][]) => shard.reduce((n, site) => n + site.length, 0);

/**
 * Site i in shard floor(offset_i * n / total) of n, for the fewest n (of a few tried) that leaves no shard over the
 * room: shards as even as whole sites allow. Undefined when none of those n fits (sites near the room in size).
 */
function evenShards(sites: readonly PlannedCheck[][], room: number): PlannedCheck[][][] | undefined {
  const total = sites.reduce((n, s) => n + s.length, 0);
  if (total === 0) return [];
  const fewest = Math.ceil(total / room);
  for (let n = fewest; n < fewest + 4; n++) {
    const shards: PlannedCheck[][][] = Array.from({ length: n }, () => []);
    let offset = 0;
    for (const site of sites) {
      shards[Math.floor((offset * n) / total)]!.push(site);
      offset += site.length;
    }
    const used = shards.filter((s) => s.length > 0);
    if (used.every((s) => s.length === 1 || sizeOf(s) <= room)) return used;
  }
  return undefined;
}

/** Sites in order, a new shard whenever the next site would overflow the room. */
function greedyShards(sites: readonly PlannedCheck[][], room: number): PlannedCheck[][][] {
  const shards: PlannedCheck[][][] = [];
  let size = room;
  for (const site of sites) {
    if (size + site.length > room) {
      shards.push([]);
      size = 0;
    }
    shards.at(-1)!.push(site);
    size += site.length;
  }
  return shards;
}

/** The tickets of `region` whose rounds start in [fromMs, toMs): planRounds, each round sharded by shardRound. */
export function planTickets(config: FailoverConfig, region: string, fromMs: number, toMs: number): PlannedTicket[] {
  const capacity = ticketCapacityOf(config);
  return planRounds(config, region, fromMs, toMs).flatMap((round) => shardRound(round, capacity));
}
