// Detection and failback delays of the real local runtime, measured with a DNS client, beside the simulator's figure
// for the same fault and the bound the policy sets. Used by `npm run bench:detect` and by test/local/detection.test.ts.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsoleNotifier } from '../shared/adapters/local/console-notifier.ts';
import { parseConfig } from '../shared/config/load.ts';
import type { FailoverConfig } from '../shared/config/model.ts';
import { runProbe } from '../shared/probes/index.ts';
import { systemClock } from '../shared/ports/clock.ts';
import { simulate, type SimulationDynamo } from '../shared/simulator/run.ts';
import { parseScenario } from '../shared/simulator/scenario.ts';
import { startLocalRuntime, type LocalRuntime } from '../local/runtime.ts';

/** One fault: when it began in its interval, and how long DNS took to move away and back. */
export interface DetectionTrial {
  /** Milliseconds into the interval (of the epoch grid) at which the primary broke. */
  readonly phaseMs: number;
  readonly detectionMs: number;
  readonly failbackMs: number;
  /** The simulator's delays for the same fault at the same phase and of the same length. */
  readonly simulatedDetectionMs: number;
  readonly simulatedFailbackMs: number;
  /**
   * The round whose batch failed the site over, as milliseconds from the fault to its scheduled start: in the runtime
   * (the last round that ended before DNS moved) and in the simulator. The same round when the model is right.
   */
  readonly decidingRoundMs: number;
  readonly simulatedDecidingRoundMs: number;
  /** The runtime's deciding round from its scheduled start to its end (the simulator's is detection - start). */
  readonly decidingRoundTookMs: number;
  /** From the end of the deciding round to DNS answering the backup: decision, dispatch, DNS, and this poll. */
  readonly pipelineMs: number;
}

/** The demo's answers: the site's record on its primary and on its backup. */
export interface DemoRecord {
  readonly name: string;
  readonly primary: string;
  readonly backup: string;
}

export interface DetectionBench {
  readonly config: FailoverConfig;
  readonly runtime: LocalRuntime;
  /** The `A` answers of the demo record, from the embedded DNS server, through the DNS probe's client. */
  answer(): Promise<readonly string[]>;
  /** Breaks the primary at `phaseMs` into the next interval, waits for DNS to move and back; see DetectionTrial. */
  trial(phaseMs: number, dynamo?: SimulationDynamo): Promise<DetectionTrial>;
  close(): Promise<void>;
}

const POLL_MS = 20;

/**
 * Starts the local runtime on `configText` (a copy of examples/demo.yaml, its demo targets on free ports) with its
 * alerts to a scratch file. Damping is switched off so that trials back to back measure the same policy.
 */
export async function startDetectionBench(configText: string, record: DemoRecord): Promise<DetectionBench> {
  const dir = await mkdtemp(join(tmpdir(), 'failover-detect-'));
  const text = configText.replace(/^( {4}confirmRetryMs: .*)$/m, '$1\n    damping: { enabled: false }');
  const configFile = join(dir, 'sites.yaml');
  await writeFile(configFile, text);
  const { config, diagnostics } = parseConfig(text);
  if (!config) throw new Error(`the bench's config is not valid: ${JSON.stringify(diagnostics)}`);
  const errors: unknown[] = [];
  const rounds: { plannedMs: number; finishedMs: number }[] = [];
  const runtime = await startLocalRuntime({
    config,
    clock: systemClock,
    onRound: (r) => {
      rounds.push({ plannedMs: Date.parse(r.roundId), finishedMs: Date.parse(r.finishedAt) });
      if (rounds.length > 1000) rounds.splice(0, 500);
    },
    onError: (e) => errors.push(e),
    control: {
      dnsPort: 0,
      apiPort: 0,
      secretsDir: join(dir, 'secrets'),
      notifier: new ConsoleNotifier({ jsonlPath: join(dir, 'alerts.jsonl'), out: () => undefined }),
      onTransition: () => undefined,
      onDispatch: () => undefined,
    },
  });
  const server = runtime.control?.dns;
  if (!server) throw new Error('the local runtime started no DNS server');
  const primary = runtime.targets.find((t) => t.id === 'primary');
  if (!primary) throw new Error('the config has no demo target "primary"');
  const site = config.sites[0]!;
  const intervalMs = site.policy.intervalSeconds * 1000;

  const answer = async (): Promise<readonly string[]> => {
    const result = await runProbe(
      {
        kind: 'dns',
        dns: {
          server: server.host,
          port: server.port,
          name: record.name,
          type: 'A',
          protocol: 'udp',
          expectRcode: 'NOERROR',
        },
      },
      { timeoutMs: 1000 },
    );
    return (result.fields?.answers as readonly string[] | undefined) ?? [];
  };
  const answerIs = async (value: string, boundMs: number): Promise<number> => {
    const deadline = Date.now() + boundMs;
    for (;;) {
      if ((await answer()).includes(value)) return Date.now();
      if (Date.now() > deadline) {
        throw new Error(`DNS did not answer ${value} within ${boundMs} ms (errors: ${errors.map(String).join('; ')})`);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  };

  const trial = async (phaseMs: number, dynamo?: SimulationDynamo): Promise<DetectionTrial> => {
    await answerIs(record.primary, 180_000);
    // Wait for the phase of an interval at least one interval away, so that the site has settled.
    const now = Date.now();
    const at = Math.ceil((now + intervalMs) / intervalMs) * intervalMs + phaseMs;
    await new Promise((r) => setTimeout(r, at - Date.now()));
    const brokeAt = Date.now();
    primary.setBroken(true);
    const movedAt = await answerIs(record.backup, 10 * intervalMs);
    const deciding = rounds.filter((r) => r.finishedMs <= movedAt).at(-1);
    if (!deciding) throw new Error('DNS moved before any round ended');
    primary.setBroken(false);
    const healedAt = Date.now();
    const backAt = await answerIs(record.primary, 30 * intervalMs + site.policy.holdDownSeconds * 1000);
    const simulated = await simulatedDelays(configFile, {
      phaseMs: brokeAt % intervalMs,
      faultMs: healedAt - brokeAt,
      ...(dynamo ? { dynamo } : {}),
    });
    return {
      phaseMs: brokeAt % intervalMs,
      detectionMs: movedAt - brokeAt,
      failbackMs: backAt - healedAt,
      simulatedDetectionMs: simulated.detectionMs,
      simulatedFailbackMs: simulated.failbackMs,
      decidingRoundMs: deciding.plannedMs - brokeAt,
      simulatedDecidingRoundMs: simulated.decidingRoundMs,
      decidingRoundTookMs: deciding.finishedMs - deciding.plannedMs,
      pipelineMs: movedAt - deciding.finishedMs,
    };
  };

  return {
    config,
    runtime,
    answer,
    trial,
    close: async () => {
      await runtime.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The simulator's delays for the demo's primary breaking `phaseMs` into an interval (HTTP connections reset, as
 * `demo break primary` does) for `faultMs`: to the failover, and from the repair to the failback.
 */
export async function simulatedDelays(
  configFile: string,
  fault: { readonly phaseMs: number; readonly faultMs: number; readonly dynamo?: SimulationDynamo },
): Promise<{ detectionMs: number; failbackMs: number; decidingRoundMs: number }> {
  const fromMs = 60_000 + fault.phaseMs;
  const toMs = fromMs + fault.faultMs;
  const yaml = [
    'name: bench-detect',
    `config: ${JSON.stringify(configFile)}`,
    'duration: 10m',
    'timeline:',
    `  - { from: ${fromMs / 1000}, to: ${toMs / 1000}, check: portal-fiber, outcome: down, errorClass: connect }`,
    'expect: { failovers: 1 }',
  ].join('\n');
  const { scenario, problems } = await parseScenario(yaml, join(tmpdir(), 'bench-detect.yaml'));
  if (!scenario) throw new Error(`bench scenario: ${JSON.stringify(problems)}`);
  const result = await simulate(scenario, fault.dynamo ? { dynamo: fault.dynamo } : {});
  const failover = result.transitions.find((t) => t.transition.kind === 'failover');
  const failback = result.transitions.find((t) => t.transition.kind === 'failback');
  if (!failover || !failback) throw new Error('the simulator saw no failover and failback for the bench fault');
  // The deciding round is the last one scheduled before the decision (a round lasts less than a region's turn here).
  const { intervalSeconds } = scenario.site.policy;
  const n = scenario.config.regions.probe.length;
  const starts = scenario.config.regions.probe.map((_, i) => {
    const offset = Math.floor((intervalSeconds * 1000 * i) / n);
    return Math.floor((failover.offsetMs - offset) / (intervalSeconds * 1000)) * intervalSeconds * 1000 + offset;
  });
  return {
    detectionMs: failover.offsetMs - fromMs,
    failbackMs: failback.offsetMs - toMs,
    decidingRoundMs: Math.max(...starts) - fromMs,
  };
}

/**
 * The policy's bounds on detection for a fault that fails at once (a reset connection), with `regions` probe
 * regions evenly staggered: the quorum-th region's first round after the fault, plus (threshold - 1) intervals,
 * plus the round's confirming retry.
 */
export function detectionBounds(config: FailoverConfig): { minMs: number; maxMs: number } {
  const { policy } = config.sites[0]!;
  const intervalMs = policy.intervalSeconds * 1000;
  const step = intervalMs / config.regions.probe.length;
  const fixed = (policy.failureThreshold - 1) * intervalMs + policy.confirmRetryMs;
  return { minMs: (policy.quorum - 1) * step + fixed, maxMs: policy.quorum * step + fixed };
}

/** min / p50 / p95 / max of a sample (nearest rank). */
export function spread(values: readonly number[]): { min: number; p50: number; p95: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
  return { min: sorted[0]!, p50: rank(0.5), p95: rank(0.95), max: sorted.at(-1)! };
}
