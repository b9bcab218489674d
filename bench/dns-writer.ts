import { fileURLToPath } from 'node:url';
import type { FailoverConfig } from '../shared/config/model.ts';
import { takeToken, type TokenBucket, type WantedDnsChange } from '../shared/domain/dns-batch.ts';
import { ROUTE53_BUDGET } from '../shared/adapters/aws/dynamodb-rate-budget.ts';
import { TransientError } from '../shared/errors.ts';
import type { DnsZoneWriter, RateBudget } from '../shared/ports/dns-writer.ts';
import type { StateStore } from '../shared/ports/state-store.ts';
import { DNS_RETRY, withRetry } from '../shared/usecases/dispatch.ts';
import { writeDnsChanges } from '../shared/usecases/write-dns-changes.ts';

// npm run bench:dns: N simultaneous failovers against a model of Route 53's account-wide limit (a token bucket of
// `requestsPerSecond`), on a virtual clock. The DNS writer (the real writeDnsChanges, fed ten messages a batch per
// zone as Lambda feeds a FIFO queue) against today's baseline: one ChangeResourceRecordSets per record with
// dispatchSite's retry policy (DNS_RETRY, 8 attempts), both with and without the reconciler's reads.

/** A discrete-event clock: `sleep` resolves when `run` advances virtual time to it. */
class VirtualTime {
  now = 0;
  #timers: { at: number; seq: number; resolve: () => void }[] = [];
  #seq = 0;

  sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => this.#timers.push({ at: this.now + Math.max(0, ms), seq: this.#seq++, resolve }));

  async run(work: Promise<unknown>): Promise<void> {
    let done = false;
    void work.finally(() => (done = true));
    for (;;) {
      await new Promise((r) => setImmediate(r));
      if (done) return;
      if (this.#timers.length === 0) throw new Error('simulation stalled: nothing scheduled');
      this.#timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.#timers.shift()!;
      this.now = Math.max(this.now, next.at);
      next.resolve();
    }
  }
}

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Route 53 as the account sees it: every request takes a token or is answered Throttling; each takes `latencyMs`. */
class Route53Model {
  calls = 0;
  throttled = 0;
  #bucket: TokenBucket | null = null;
  readonly #time: VirtualTime;
  readonly #rule: { ratePerSecond: number; capacity: number };
  readonly #latencyMs: number;

  constructor(time: VirtualTime, requestsPerSecond: number, latencyMs = 150) {
    this.#time = time;
    this.#rule = { ratePerSecond: requestsPerSecond, capacity: requestsPerSecond };
    this.#latencyMs = latencyMs;
  }

  async request(): Promise<void> {
    this.calls++;
    const out = takeToken(this.#bucket, this.#rule, this.#time.now);
    if (out.granted) this.#bucket = out.bucket;
    await this.#time.sleep(this.#latencyMs);
    if (!out.granted) {
      this.throttled++;
      throw new TransientError('Throttling: Rate exceeded');
    }
  }
}

/** The shared budget as the DynamoDB item keeps it (one bucket for every taker), on the virtual clock. */
class ModelBudget implements RateBudget {
  #bucket: TokenBucket | null = null;
  readonly #time: VirtualTime;
  constructor(time: VirtualTime) {
    this.#time = time;
  }
  async take(priority: 'write' | 'read') {
    const out = takeToken(
      this.#bucket,
      ROUTE53_BUDGET,
      this.#time.now,
      priority === 'read' ? ROUTE53_BUDGET.readReserve : 0,
    );
    if (!out.granted) return out;
    this.#bucket = out.bucket;
    return { granted: true as const };
  }
}

export interface DnsSimulationInput {
  readonly failovers: number;
  /** Hosted zones the failed-over records are spread over. @default 1 */
  readonly zones?: number;
  /** Route 53's account limit. @default 5 */
  readonly requestsPerSecond?: number;
  /** The reconciler reads the zones meanwhile (the writer's: one page a second at low priority; today's: 2 a second). */
  readonly reconciler?: boolean;
  readonly seed?: number;
}

export interface DnsSimulationResult {
  /** Virtual seconds until the last wanted state was written (or given up). */
  readonly completionSeconds: number;
  /** ChangeResourceRecordSets requests sent (throttled ones included). */
  readonly calls: number;
  readonly throttled: number;
  /** Wanted states given up (action-failed). */
  readonly givenUp: number;
  readonly written: number;
}

function wanted(input: DnsSimulationInput): WantedDnsChange[] {
  const zones = input.zones ?? 1;
  return Array.from({ length: input.failovers }, (_, i) => ({
    kind: 'dns',
    id: `s${i}:2:1`,
    site: `s${i}`,
    seq: 2,
    at: 0,
    zone: 'example.com',
    hostedZoneId: `Z${String(i % zones).padStart(13, '0')}`,
    name: `s${i}.example.com`,
    type: 'A',
    ttl: 60,
    strategy: 'record-swap',
    link: 'lte',
    values: [`10.2.${i >> 8}.${i & 255}`],
  }));
}

/** Reads of the reconciler against the same account limit until `until` says stop, every `intervalMs`. */
async function reconcilerReads(
  time: VirtualTime,
  route53: Route53Model,
  intervalMs: number,
  until: () => boolean,
  budget?: RateBudget,
) {
  while (!until()) {
    if (budget) {
      const token = await budget.take('read');
      if (!token.granted) {
        await time.sleep(token.waitMs);
        continue;
      }
    }
    await route53.request().catch(() => undefined);
    await time.sleep(intervalMs);
  }
}

/**
 * The DNS writer: per zone, its FIFO group's messages ten at a time through the real writeDnsChanges, with the
 * shared budget; a batch not written by its invocation's deadline comes back after a few seconds (returnSoon).
 */
export async function simulateDnsWriter(input: DnsSimulationInput): Promise<DnsSimulationResult> {
  const time = new VirtualTime();
  const route53 = new Route53Model(time, input.requestsPerSecond ?? 5);
  const budget = new ModelBudget(time);
  const random = seeded(input.seed ?? 1);
  const writer: Pick<DnsZoneWriter, 'upsert'> & DnsZoneWriter = {
    upsert: async () => {
      await route53.request();
      return { changeId: `C${route53.calls}`, status: 'PENDING' };
    },
    listPage: async () => ({ records: [] }),
  };
  const deps = {
    writer,
    budget,
    clock: { now: () => time.now },
    wait: time.sleep,
    random,
    // Refusals never happen in this model (Route 53 only throttles), so no site is looked up.
    config: { sites: [], regions: { probe: [] } } as unknown as FailoverConfig,
    store: {} as StateStore,
  };
  const groups = new Map<string, WantedDnsChange[]>();
  for (const c of wanted(input)) groups.set(c.hostedZoneId, [...(groups.get(c.hostedZoneId) ?? []), c]);
  let written = 0;
  let finishedAt = 0;
  let allDone = false;
  const drain = async (queue: WantedDnsChange[]) => {
    while (queue.length > 0) {
      const batch = queue.splice(0, 10);
      await time.sleep(20 + random() * 80); // the event source's poll and the invocation
      const out = await writeDnsChanges(deps, { changes: batch, deadline: time.now + 50_000 });
      written += out.applied.length + out.superseded.length;
      if (out.pending.length > 0) {
        queue.unshift(...out.pending);
        await time.sleep(4_000 * (0.5 + 0.5 * random()));
      }
    }
    finishedAt = Math.max(finishedAt, time.now);
  };
  const work = Promise.all([...groups.values()].map(drain)).then(() => (allDone = true));
  const reads = input.reconciler ? reconcilerReads(time, route53, 1000, () => allDone, budget) : Promise.resolve();
  await time.run(Promise.all([work, reads]));
  return {
    completionSeconds: finishedAt / 1000,
    calls: route53.calls,
    throttled: route53.throttled,
    givenUp: input.failovers - written,
    written,
  };
}

/** Today's dispatch: every failover's record applied on its own, concurrently, with dispatchSite's DNS_RETRY. */
export async function simulateBaseline(input: DnsSimulationInput): Promise<DnsSimulationResult> {
  const time = new VirtualTime();
  const route53 = new Route53Model(time, input.requestsPerSecond ?? 5);
  const random = seeded(input.seed ?? 1);
  let written = 0;
  let givenUp = 0;
  let finishedAt = 0;
  let allDone = false;
  const work = Promise.all(
    wanted(input).map(async () => {
      await time.sleep(random() * 1_000); // the stream's batches start within a second
      try {
        await withRetry(() => route53.request(), { policy: DNS_RETRY, wait: time.sleep, random });
        written++;
      } catch {
        givenUp++;
      }
      finishedAt = Math.max(finishedAt, time.now);
    }),
  ).then(() => (allDone = true));
  const reads = input.reconciler ? reconcilerReads(time, route53, 500, () => allDone) : Promise.resolve();
  await time.run(Promise.all([work, reads]));
  return { completionSeconds: finishedAt / 1000, calls: route53.calls, throttled: route53.throttled, givenUp, written };
}

const stats = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]!, max: sorted[sorted.length - 1]! };
};
const fmt = (s: { min: number; median: number; max: number }, digits = 0) =>
  `${s.min.toFixed(digits)} / ${s.median.toFixed(digits)} / ${s.max.toFixed(digits)}`;

async function main(): Promise<void> {
  const runs = 7;
  const failovers = 500;
  console.log(
    `bench:dns: ${failovers} simultaneous failovers in one hosted zone, Route 53 at 5 requests/s per account (a token bucket, virtual clock), ${runs} interleaved runs (min / median / max)`,
  );
  for (const reconciler of [false, true]) {
    const rows = { baseline: [] as DnsSimulationResult[], writer: [] as DnsSimulationResult[] };
    for (let seed = 1; seed <= runs; seed++) {
      rows.baseline.push(await simulateBaseline({ failovers, reconciler, seed }));
      rows.writer.push(await simulateDnsWriter({ failovers, reconciler, seed }));
    }
    console.log(`\n${reconciler ? 'with' : 'without'} the reconciler's reads`);
    for (const [name, results] of Object.entries(rows)) {
      const pct = stats(results.map((r) => (100 * r.givenUp) / failovers));
      console.log(
        `  ${name === 'baseline' ? 'per-record dispatch (DNS_RETRY)' : 'DNS writer (batches, budget)   '}  ` +
          `done after ${fmt(stats(results.map((r) => r.completionSeconds)), 1)} s, ` +
          `${fmt(stats(results.map((r) => r.calls)))} calls (${fmt(stats(results.map((r) => r.throttled)))} throttled), ` +
          `given up ${fmt(stats(results.map((r) => r.givenUp)))} (${fmt(pct, 1)} %)`,
      );
    }
    const ratio = (k: 'calls' | 'completionSeconds') =>
      stats(rows.baseline.map((b, i) => b[k] / Math.max(1e-9, rows.writer[i]![k])));
    console.log(
      `  baseline / writer: calls x${fmt(ratio('calls'), 1)}, completion time x${fmt(ratio('completionSeconds'), 2)}`,
    );
  }
  const multi = await simulateDnsWriter({ failovers, zones: 5, reconciler: true });
  console.log(
    `\nDNS writer, the same failovers over 5 zones, reconciler on: done after ${multi.completionSeconds.toFixed(1)} s, ${multi.calls} calls, ${multi.givenUp} given up`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
