// One chaos trial, shared by `npm run chaos` (bench/chaos.ts) and its sample in `npm test`
// (test/local/chaos.test.ts): the real `failover local` on a data dir and the real agent CLI in a process of its own,
// an operator failover, SIGKILL of the runtime at a chosen moment, a restart on the same data dir, then a count of
// every effect of that one failover: switch lines at the agent, alert ids in the JSONL file, DNS, outbox, commands.
import dgram from 'node:dgram';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { DynamoDbCommandStore } from '../../shared/adapters/aws/dynamodb-command-store.ts';
import { DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { startDynalite } from '../../shared/adapters/local/dynalite.ts';
import { demoAgentPublicKey } from '../../local/demo-agent.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import { agentFixture } from './agent-fixture.ts';
import { startCli, type CliProcess } from './cli.ts';
import { demoConfigOnFreePorts } from './demo-config.ts';
import { freePort } from './ports.ts';
import { fileLines, startRuntimeChild, until, type RuntimeChild } from './runtime-child.ts';

/**
 * When the runtime is killed: so many ms after the failover request was sent, after its transition was printed, or
 * after the agent command was handed to the agent (printed as `command-delivered`: its ack is usually not back yet).
 */
export interface KillPoint {
  readonly after: 'request' | 'transition' | 'command';
  readonly ms: number;
}

export const describeKillPoint = (p: KillPoint) => `${p.after} +${p.ms} ms`;

/**
 * `count` kill points around the transition: a tenth while the request is being decided, from 10 points on two right
 * after the command's send, nearly half of the rest in the first 50 ms after the transition (DNS, the agent command
 * and the alert are in flight), the others spread over 3 s.
 */
export function killPoints(count: number): KillPoint[] {
  if (!Number.isInteger(count) || count < 1) throw new Error(`kill points: expected a whole number >= 1, got ${count}`);
  const early = Math.max(count >= 10 ? 1 : 0, Math.round(count / 10));
  const sent = count >= 10 ? 2 : 0;
  const soon = Math.max(1, Math.round((count - early - sent) / 2));
  const late = count - early - sent - soon;
  const points: KillPoint[] = [];
  for (let i = 0; i < early; i++) points.push({ after: 'request', ms: Math.round((i * 10) / Math.max(1, early - 1)) });
  for (let i = 0; i < sent; i++) points.push({ after: 'command', ms: i * 2 });
  for (let i = 0; i < soon; i++) points.push({ after: 'transition', ms: Math.round((i * 50) / Math.max(1, soon - 1)) });
  // Geometric from 60 ms to 3 s: most effects finish within the first few hundred ms.
  for (let i = 0; i < late; i++)
    points.push({ after: 'transition', ms: Math.round(60 * (3000 / 60) ** (late === 1 ? 1 : i / (late - 1))) });
  return points;
}

/** What one trial counted. `lost` and `duplicated` name the effects that were missing or happened twice. */
export interface TrialResult {
  readonly point: KillPoint;
  /** Whether the first runtime had printed the transition when it was killed. */
  readonly transitionBeforeKill: boolean;
  /** How long after this process read the transition line the kill was sent; null when it had not read it. */
  readonly killedAfterTransitionMs: number | null;
  /** What had happened when it was killed: switch lines, alert records, and whether the command was sent, acked. */
  readonly atKill: {
    readonly switches: number;
    readonly alerts: number;
    readonly sent: boolean;
    readonly acked: boolean;
  };
  /** Lines the agent's switch script wrote (one per command it ran). */
  readonly switches: number;
  readonly failoverAlerts: number;
  readonly duplicateAlertIds: readonly string[];
  readonly dns: string;
  readonly pendingActions: number;
  readonly openCommands: number;
  readonly lost: readonly string[];
  readonly duplicated: readonly string[];
  readonly ms: number;
}

const SITE = 'demo';
const RECORD = 'portal.example.com';
const BACKUP_VALUE = '198.51.100.20';

/**
 * Runs one trial in a new directory under `base` (removed afterwards unless `keep`): a fresh data dir, a fresh agent.
 * Never throws for a missing or repeated effect: those are counted in the result.
 */
export async function runTrial(
  base: string,
  point: KillPoint,
  options: { readonly settleMs?: number; readonly keep?: boolean; readonly progress?: (step: string) => void } = {},
): Promise<TrialResult> {
  const started = Date.now();
  const step = (what: string) => options.progress?.(`${((Date.now() - started) / 1000).toFixed(1)} s ${what}`);
  const settleMs = options.settleMs ?? 30_000;
  await mkdir(base, { recursive: true });
  const dir = await mkdtemp(join(base, 'trial-'));
  const dataDir = join(dir, 'data');
  const demo = await demoConfigOnFreePorts();
  const agent = await agentFixture(dir);
  // The demo with a site agent of its own (not the in-process demo agent): it lives through the runtime's death.
  const configFile = join(dir, 'chaos.yaml');
  await writeFile(configFile, demo.text.replace(await demoAgentPublicKey(), agent.publicKey));
  const apiPort = await freePort({ tcp: true });
  const runtimes: RuntimeChild[] = [];
  let agentProcess: CliProcess | undefined;
  const start = async () => {
    const rt = await startRuntimeChild({ config: configFile, dataDir, apiPort, timeoutMs: 10 * 60_000 });
    runtimes.push(rt);
    return rt;
  };
  const kill = async (rt: RuntimeChild) => {
    if (rt.cli.child.exitCode === null && rt.cli.child.signalCode === null) rt.cli.child.kill('SIGKILL');
    await rt.cli.exited.catch(() => undefined);
  };

  try {
    const first = await start();
    step('runtime ready');
    const publicKey = (await readFile(join(dataDir, 'agent-signing-key.pub'), 'utf8')).trim();
    const agentConfig = await agent.writeConfig({ wsUrl: first.ready.agentUrl, publicKey }, { site: SITE });
    agentProcess = startCli(['agent', '--config', agentConfig, '--json-logs'], { timeoutMs: 10 * 60_000 });
    await first.waitForEvent('the agent', (e) => e.event === 'agent' && e.type === 'auth-accepted', settleMs);
    step('agent connected');

    // The operator's failover, and the kill at the chosen moment after the request or after the transition.
    const requested = first.api(`/v1/sites/${SITE}/failover`, {
      method: 'POST',
      body: { reason: `chaos ${describeKillPoint(point)}` },
    });
    requested.catch(() => undefined);
    let transitionSeenAt: number | undefined;
    const transition = first.cli
      .waitFor('"event":"transition"', { timeoutMs: settleMs })
      .then(() => (transitionSeenAt = Date.now()));
    transition.catch(() => undefined);
    if (point.after === 'transition') await transition.catch(() => undefined);
    if (point.after === 'command')
      await first.cli.waitFor('"type":"command-delivered"', { timeoutMs: settleMs }).catch(() => undefined);
    if (point.ms > 0) await new Promise((r) => setTimeout(r, point.ms));
    first.cli.child.kill('SIGKILL');
    const killedAfterTransitionMs = transitionSeenAt === undefined ? null : Date.now() - transitionSeenAt;
    await first.cli.exited.catch(() => undefined);
    step('killed');
    const transitionBeforeKill = first.events().some((e) => e.event === 'transition' && e.kind === 'failover');
    const firstAgentEvent = (type: string) => first.events().some((e) => e.event === 'agent' && e.type === type);
    const atKill = {
      switches: (await agent.records()).length,
      alerts: (await alertRecords(first.ready.alerts)).length,
      sent: firstAgentEvent('command-delivered'),
      acked: firstAgentEvent('command-acked'),
    };
    const answered = await requested.then(
      (r) => r.status,
      () => undefined,
    );

    step(`request answered ${answered}`);
    const second = await start();
    step('restarted');
    await second.waitForEvent('the agent again', (e) => e.event === 'agent' && e.type === 'auth-accepted', settleMs);
    // A request the kill cut short is what an operator asks again; answered, a repeat is refused (already on backup).
    if (answered !== 200) {
      const again = await second.api(`/v1/sites/${SITE}/failover`, {
        method: 'POST',
        body: { reason: 'chaos: again' },
      });
      if (again.status !== 200 && again.status !== 409)
        throw new Error(`the repeated failover answered ${again.status}: ${JSON.stringify(again.body)}`);
    }

    // Settled: every effect there, and the agent's ack recorded (a `command-acked` in either run is logged after
    // the store's write). A bound passes without them: what is missing is then counted as lost.
    const acked = () =>
      runtimes.some((rt) =>
        rt.events().some((e) => e.event === 'agent' && (e.type === 'command-acked' || e.type === 'ack-ignored')),
      );
    const effects = async () => ({
      switches: (await agent.records()).length,
      alerts: await alertRecords(second.ready.alerts),
      dns: await queryA(second.ready.dns!, RECORD).catch((e: Error) => `error: ${e.message}`),
      site: (await second.api(`/v1/sites/${SITE}`)).body as { mode: string; pendingActions: number },
    });
    let seen = await effects();
    await until(
      'every effect of the failover',
      async () => {
        seen = await effects();
        const done =
          seen.switches >= 1 &&
          seen.alerts.some((a) => a.event === 'failover') &&
          seen.dns === BACKUP_VALUE &&
          seen.site.mode === 'BACKUP_ACTIVE' &&
          seen.site.pendingActions === 0 &&
          acked();
        return done ? true : undefined;
      },
      settleMs,
    ).catch(() => undefined);

    step('settled');
    // Stopped gracefully (actions in flight finish), then the state read directly: outbox and open commands.
    second.cli.child.kill('SIGINT');
    const stopped = await Promise.race([
      second.cli.exited.then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), 20_000)),
    ]);
    if (!stopped)
      throw new Error(
        `the runtime did not stop within 20 s:\n${second.cli
          .stdout()
          .split('\n')
          .filter((l) => !l.includes('heartbeat') && !l.includes('observation'))
          .join('\n')
          .slice(-6000)}\n${second.cli.stderr()}`,
      );
    step('stopped');
    const state = await readState(dataDir);
    step('state read');
    seen = { ...seen, switches: (await agent.records()).length, alerts: await alertRecords(second.ready.alerts) };

    const ids = seen.alerts.map((a) => a.alertId);
    const duplicateAlertIds = [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))];
    const failoverAlerts = seen.alerts.filter((a) => a.event === 'failover').length;
    const lost: string[] = [];
    const duplicated: string[] = [];
    if (seen.switches === 0) lost.push('switch');
    if (seen.switches > 1) duplicated.push(`switch x${seen.switches}`);
    if (failoverAlerts === 0) lost.push('failover alert');
    if (failoverAlerts > 1) duplicated.push(`failover alert x${failoverAlerts}`);
    for (const id of duplicateAlertIds) duplicated.push(`alert ${id}`);
    if (seen.dns !== BACKUP_VALUE) lost.push(`dns (${seen.dns})`);
    if (state.mode !== 'BACKUP_ACTIVE') lost.push(`failover (mode ${state.mode})`);
    if (state.pendingActions > 0) lost.push(`${state.pendingActions} action(s) left in the outbox`);
    if (state.openCommands > 0) lost.push(`${state.openCommands} command(s) never acked`);
    return {
      point,
      transitionBeforeKill,
      killedAfterTransitionMs,
      atKill,
      switches: seen.switches,
      failoverAlerts,
      duplicateAlertIds,
      dns: seen.dns,
      pendingActions: state.pendingActions,
      openCommands: state.openCommands,
      lost,
      duplicated,
      ms: Date.now() - started,
    };
  } finally {
    for (const rt of runtimes) await kill(rt);
    if (agentProcess) {
      agentProcess.child.kill('SIGINT');
      await agentProcess.exited.catch(() => undefined);
    }
    if (!options.keep) await rm(dir, { recursive: true, force: true });
  }
}

/** One line per trial. */
export function formatTrial(n: number, r: TrialResult): string {
  const verdict =
    r.lost.length === 0 && r.duplicated.length === 0
      ? 'ok'
      : [...r.lost.map((l) => `LOST ${l}`), ...r.duplicated.map((d) => `DUPLICATED ${d}`)].join(', ');
  return (
    `trial ${String(n).padStart(3)}  kill at ${describeKillPoint(r.point).padEnd(18)} ` +
    `(${r.killedAfterTransitionMs === null ? (r.transitionBeforeKill ? 'after' : 'before') + ' the transition' : `${r.killedAfterTransitionMs} ms after the transition`}; at the kill: ` +
    `${r.atKill.sent ? 'command sent' : 'command not sent'}, ${r.atKill.acked ? 'acked' : 'not acked'}, ` +
    `${r.atKill.switches} switch, ${r.atKill.alerts} alert)  after the restart: switches ${r.switches}  ` +
    `failover alerts ${r.failoverAlerts}  dns ${r.dns}  outbox ${r.pendingActions}  open commands ${r.openCommands}  ` +
    `${(r.ms / 1000).toFixed(1)} s  ${verdict}`
  );
}

/** Trials with a lost effect, with a duplicated one, and all: `lost / duplicated / trials`. */
export function summarize(results: readonly TrialResult[]): { lost: number; duplicated: number; trials: number } {
  return {
    lost: results.filter((r) => r.lost.length > 0).length,
    duplicated: results.filter((r) => r.duplicated.length > 0).length,
    trials: results.length,
  };
}

async function alertRecords(file: string): Promise<{ alertId: string; event: string }[]> {
  return (await fileLines(file)).map((l) => JSON.parse(l) as { alertId: string; event: string });
}

/** The site's mode, its outbox (history aside) and its commands not yet acked or expired, read from the data dir. */
async function readState(dataDir: string): Promise<{ mode: string; pendingActions: number; openCommands: number }> {
  const dynamo = await startDynalite({ path: dataDir });
  try {
    const { tableName, client } = dynamo;
    const state = await new DynamoDbStateStore({ tableName, client, clock: systemClock }).load(SITE);
    const commands = new DynamoDbCommandStore({ tableName, client, clock: systemClock });
    const open = await commands.list(SITE, { statuses: ['queued', 'delivered'] });
    return {
      mode: state?.mode ?? 'none',
      pendingActions: (state?.outbox ?? []).filter((a) => a.kind !== 'history').length,
      openCommands: open.length,
    };
  } finally {
    await dynamo.close();
  }
}

/** The A record's values, comma-separated, as the embedded DNS server answers over UDP. */
export async function queryA(server: { host: string; port: number }, name: string): Promise<string> {
  const socket = dgram.createSocket('udp4');
  try {
    const id = Math.floor(Math.random() * 65_535);
    const answer = new Promise<dnsPacket.Packet>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no DNS answer within 3 s')), 3000);
      socket.on('message', (message) => {
        const packet = dnsPacket.decode(message);
        if (packet.id !== id) return;
        clearTimeout(timer);
        resolve(packet);
      });
      socket.on('error', reject);
    });
    socket.send(dnsPacket.encode({ type: 'query', id, questions: [{ type: 'A', name }] }), server.port, server.host);
    const packet = await answer;
    return (packet.answers ?? []).flatMap((a) => (a.type === 'A' ? [a.data] : [])).join(',');
  } finally {
    socket.close();
  }
}
