import type { KeyObject } from 'node:crypto';
import * as z from 'zod';
import type { AgentMessage, AutonomyReport, CommandAck, SignedCommand } from '../contracts/agent.ts';
import type { ObservationBatch } from '../contracts/observation.ts';
import { LinkHealth, decideAutonomy, testLink } from './autonomy.ts';
import { Sleeper } from './backoff.ts';
import { ControlPlaneClient } from './client.ts';
import type { AgentConfig, AgentLinkConfig } from './config.ts';
import { describeCommandLine, runAction, substituteArgs, type ActionVars, type ExecResult } from './executor.ts';
import { SeenStore, guardCommand, type Refusal } from './guard.ts';
import { loadPrivateKeyFile } from './keys.ts';
import type { AgentLogger } from './log.ts';
import { Outbox } from './outbox.ts';
import { agentVantage, insideOutRound, linkAddress } from './probes.ts';
import { nonce, publicKeyFromRaw } from '../contracts/agent-signing.ts';
import { JsonFile, ensureStateDir } from './state.ts';

const ActiveLinkDoc = z.object({
  v: z.literal(1),
  link: z.string(),
  since: z.string(),
  by: z.enum(['command', 'autonomy']),
});

export interface AgentOptions {
  readonly log: AgentLogger;
  /** Sent in heartbeats. */
  readonly version?: string;
  /** The agent's private key; default: read from `config.privateKeyFile` (which must be mode 0600). */
  readonly privateKey?: KeyObject;
  readonly random?: () => number;
}

/** A running agent. */
export interface RunningAgent {
  /** Lets an action in progress finish (or time out), writes the queues to the state directory, disconnects. */
  stop(): Promise<void>;
  /** The link the site's traffic uses, as far as this agent knows. */
  activeLink(): string;
}

/**
 * Starts the site agent: the channel to the control plane (commands in; acks, heartbeats, observations and autonomy
 * reports out), the inside-out checks through every link, and local autonomy. Throws when the key or the state
 * directory cannot be used; once started it never gives up on the control plane.
 */
export async function startAgent(config: AgentConfig, options: AgentOptions): Promise<RunningAgent> {
  const { log } = options;
  const privateKey = options.privateKey ?? (await loadPrivateKeyFile(config.privateKeyFile));
  const controlPlaneKey = publicKeyFromRaw(config.controlPlane.publicKey);
  await ensureStateDir(config.stateDir);
  const corrupt = (message: string) => log.log('error', 'state-corrupt', message);
  const seen = await SeenStore.open(config.stateDir, Date.now(), corrupt);
  const outbox = await Outbox.open(config.stateDir, corrupt);
  const activeFile = new JsonFile(config.stateDir, 'active-link.json', ActiveLinkDoc);
  const stored = await activeFile.read(corrupt);
  const linkIds = config.links.map((l) => l.id);
  let active = stored && linkIds.includes(stored.link) ? stored.link : linkIds[0]!;

  let stopping = false;
  const sleeper = new Sleeper();
  const rounds = new AbortController();
  let chain: Promise<unknown> = Promise.resolve();
  /** Commands and autonomous switches run one at a time, in order. */
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn);
    chain = next.catch(() => undefined);
    return next;
  };

  const queue = async (message: AgentMessage) => {
    const dropped = await outbox.push(message);
    if (dropped > 0)
      log.log('warn', 'outbox-full', `outbox full: dropped the ${dropped} oldest observation message(s)`, { dropped });
    client.kick();
  };

  const setActive = async (link: string, by: 'command' | 'autonomy') => {
    active = link;
    await activeFile.write({ v: 1, link, since: new Date().toISOString(), by });
  };

  const runFor = async (
    commandId: string,
    actionName: string,
    target: AgentLinkConfig | undefined,
    by: 'command' | 'autonomy',
  ): Promise<{ result: ExecResult; line: string } | { refused: string }> => {
    const action = config.actions[actionName]!;
    const vars: ActionVars = {
      site: config.site,
      commandId,
      action: actionName,
      fromLink: active,
      link: target?.id,
      interface: target?.interface,
      gateway: target?.gateway,
    };
    const sub = substituteArgs(action.args, vars);
    if (sub.missing !== undefined)
      return { refused: `the action's arguments use {${sub.missing}}, which this command does not provide` };
    const env: Record<string, string> = {
      FAILOVER_SITE: config.site,
      FAILOVER_ACTION: actionName,
      FAILOVER_COMMAND_ID: commandId,
      FAILOVER_FROM_LINK: active,
      FAILOVER_DRY_RUN: config.dryRun ? '1' : '0',
      ...(target ? { FAILOVER_LINK: target.id } : {}),
      ...(target?.interface ? { FAILOVER_INTERFACE: target.interface } : {}),
      ...(target?.gateway ? { FAILOVER_GATEWAY: target.gateway } : {}),
    };
    const line = describeCommandLine(action.command, sub.argv);
    const result = await runAction(action, sub.argv, { dryRun: config.dryRun, env });
    if (result.status === 'succeeded' && !result.dryRun && target) await setActive(target.id, by);
    return { result, line };
  };

  const ackOf = (commandId: string, result: ExecResult): CommandAck => ({
    commandId,
    site: config.site,
    status: result.status,
    exitCode: result.exitCode,
    output: result.output,
    ...(result.dryRun ? { dryRun: true } : {}),
    startedAt: result.startedAt,
    finishedAt: result.finishedAt,
  });

  /** Sends the ack of an accepted command, remembering it first: a resend of the command is answered with it. */
  const answer = async (command: SignedCommand, ack: CommandAck) => {
    await seen.complete(command.nonce, ack);
    await queue({ v: 1, type: 'ack', ack });
  };

  /** Refuses a command; `accepted` is the command when the guard had let it in (recorded as seen). */
  const refuse = async (commandId: string | undefined, reason: Refusal, detail: string, accepted?: SignedCommand) => {
    log.log('warn', 'command-refused', `refused command ${commandId ?? '(no id)'}: ${reason}: ${detail}`, {
      commandId,
      reason,
    });
    if (commandId === undefined) return;
    const ack: CommandAck = {
      commandId,
      site: config.site,
      status: 'refused',
      reason,
      output: detail.slice(0, 4096),
      finishedAt: new Date().toISOString(),
    };
    if (accepted) await answer(accepted, ack);
    else await queue({ v: 1, type: 'ack', ack });
  };

  const execute = async (command: SignedCommand) => {
    const link = command.args.link;
    const target = link === undefined ? undefined : config.links.find((l) => l.id === link);
    if (link !== undefined && !target)
      return refuse(
        command.id,
        'malformed',
        `unknown link "${link}" (this agent's links: ${linkIds.join(', ')})`,
        command,
      );
    log.log('info', 'command', `command ${command.id}: ${command.action}${link ? ` to ${link}` : ''}`, {
      commandId: command.id,
      action: command.action,
      args: command.args,
    });
    const run = await runFor(command.id, command.action, target, 'command');
    if ('refused' in run) return refuse(command.id, 'malformed', run.refused, command);
    const { result, line } = run;
    log.log(
      result.status === 'succeeded' ? 'info' : 'error',
      'command-done',
      `command ${command.id}: ${result.dryRun ? 'dry run of' : 'ran'} ${line}: ${result.status}${result.exitCode !== null ? ` (exit ${result.exitCode})` : ''}`,
      { commandId: command.id, status: result.status, exitCode: result.exitCode, dryRun: result.dryRun },
    );
    await answer(command, ackOf(command.id, result));
  };

  /** A command accepted before, sent again because its ack did not reach the control plane: the same ack again. */
  const repeat = async (commandId: string, ack: CommandAck) => {
    log.log('info', 'command-repeat', `command ${commandId} received again: it ${ack.status} before; ack sent again`, {
      commandId,
      status: ack.status,
    });
    await queue({ v: 1, type: 'ack', ack });
  };

  const onCommand = (raw: unknown) => {
    if (stopping) {
      log.log('warn', 'command-ignored', 'a command arrived while the agent is stopping: not run (it will expire)');
      return;
    }
    void serial(async () => {
      const verdict = await guardCommand(raw, {
        site: config.site,
        publicKey: controlPlaneKey,
        actions: new Set(Object.keys(config.actions)),
        seen,
        now: Date.now(),
      });
      if (!verdict.ok && verdict.commandId && verdict.repeat?.ack) return repeat(verdict.commandId, verdict.repeat.ack);
      if (!verdict.ok) return refuse(verdict.commandId, verdict.reason, verdict.detail);
      return execute(verdict.command);
    }).catch((error: unknown) =>
      log.log('error', 'command-error', `handling a command failed: ${(error as Error).message}`),
    );
  };

  const client: ControlPlaneClient = new ControlPlaneClient({
    site: config.site,
    controlPlane: config.controlPlane,
    privateKey,
    outbox,
    log,
    onCommand,
    heartbeat: () => ({
      v: 1,
      type: 'heartbeat',
      sentAt: new Date().toISOString(),
      activeLink: active,
      ...(options.version ? { version: options.version } : {}),
    }),
    ...(options.random ? { random: options.random } : {}),
  });

  // -------------------------------------------------------------------------------------------------------------
  // Inside-out checks: every interval, the site's checks through each link.

  const skipped = new Map<string, string>();
  const addressOf = async (link: AgentLinkConfig, purpose: string): Promise<string | undefined> => {
    const found = await linkAddress(link);
    if (found.problem === undefined) {
      if (skipped.delete(link.id)) log.log('info', 'link-address', `link ${link.id}: using ${found.address} again`);
      return found.address;
    }
    if (skipped.get(link.id) !== found.problem)
      log.log('warn', 'link-skipped', `link ${link.id}: ${found.problem}; ${purpose}`, { link: link.id });
    skipped.set(link.id, found.problem);
    return undefined;
  };

  const probeLoop = async () => {
    const { checks } = config;
    if (checks.planned.length === 0) return;
    const intervalMs = checks.intervalSeconds * 1000;
    let next = Date.now();
    while (!stopping) {
      const scheduledAt = next;
      const batches = await Promise.all(
        config.links.map(async (link): Promise<ObservationBatch | undefined> => {
          const address = await addressOf(link, 'its checks are skipped until it has one');
          if (address === undefined) return undefined;
          return insideOutRound({
            site: config.site,
            link,
            address,
            checks: checks.planned,
            scheduledAt,
            concurrency: checks.concurrency,
            jitterMs: checks.jitterMs,
            budgetMs: Math.floor(intervalMs * 0.8),
            signal: rounds.signal,
          });
        }),
      );
      const ready = batches.filter((b): b is ObservationBatch => b !== undefined && b.observations.length > 0);
      if (ready.length > 0 && !rounds.signal.aborted) {
        // One message per link keeps each under API Gateway's 128 KB WebSocket message limit.
        for (const batch of ready) await queue({ v: 1, type: 'observations', batches: [batch] });
        log.log(
          'debug',
          'observations',
          `round ${ready[0]!.roundId}: ${ready.map((b) => `${b.vantage} ${summary(b)}`).join('; ')}`,
        );
      }
      while (next <= Date.now()) next += intervalMs;
      await sleeper.sleep(next - Date.now());
    }
  };

  // -------------------------------------------------------------------------------------------------------------
  // Local autonomy: only while the control plane is unreachable.

  const autonomyLoop = async () => {
    const a = config.autonomy;
    if (!a.enabled) return;
    const health = new LinkHealth(linkIds, a);
    let offline = false;
    let stuck = '';
    while (!stopping) {
      const started = Date.now();
      let waitMs = a.intervalSeconds * 1000;
      if (client.reachable(a.offlineAfterSeconds * 1000)) {
        waitMs = Math.min(waitMs, 1000); // notice the control plane going away soon after it does
        if (offline) {
          log.log('info', 'autonomy-standby', 'control plane reachable again: local autonomy stands by');
          health.reset();
          offline = false;
          stuck = '';
        }
      } else {
        if (!offline) {
          offline = true;
          log.log(
            'warn',
            'autonomy-active',
            `no contact with the control plane for over ${a.offlineAfterSeconds} s: local autonomy watches the links (active: ${active})`,
          );
        }
        await Promise.all(
          config.links.map(async (link) => {
            const address = await addressOf(link, 'counted as failed');
            const outcome = address
              ? await testLink({ ...a, localAddress: address, signal: rounds.signal })
              : { passed: false, detail: 'no address' };
            if (rounds.signal.aborted) return;
            const verdict = health.record(link.id, outcome.passed);
            log.log('debug', 'autonomy-test', `link ${link.id}: ${outcome.detail} (${verdict})`, {
              link: link.id,
              passed: outcome.passed,
            });
          }),
        );
        if (stopping) break;
        const decision = decideAutonomy(health, active, linkIds);
        if (decision.kind === 'switch') {
          stuck = '';
          await serial(() => switchLocally(decision.to, decision.reason, health));
        } else if (decision.kind === 'stuck' && stuck !== decision.reason) {
          stuck = decision.reason;
          log.log('error', 'autonomy-stuck', `${decision.reason}: not switching`);
        }
      }
      await sleeper.sleep(Math.max(0, waitMs - (Date.now() - started)));
    }
  };

  const switchLocally = async (to: string, reason: string, health: LinkHealth) => {
    const a = config.autonomy;
    // The control plane may have come back, or switched the site itself, while the links were being tested.
    if (stopping || client.reachable(a.offlineAfterSeconds * 1000) || health.verdict(active) !== 'down') return;
    const from = active;
    const commandId = `local-${Date.now().toString(36)}-${nonce(6)}`;
    log.log('warn', 'autonomy-switch', `switching locally from ${from} to ${to}: ${reason}`, { from, to, commandId });
    const run = await runFor(
      commandId,
      a.action,
      config.links.find((l) => l.id === to),
      'autonomy',
    );
    health.forget(from);
    const ack: CommandAck =
      'refused' in run
        ? {
            commandId,
            site: config.site,
            status: 'failed',
            exitCode: null,
            output: run.refused,
            finishedAt: new Date().toISOString(),
          }
        : ackOf(commandId, run.result);
    if ('result' in run)
      log.log(
        run.result.status === 'succeeded' ? 'warn' : 'error',
        'autonomy-done',
        `local switch ${from} -> ${to}: ${run.result.dryRun ? 'dry run of' : 'ran'} ${run.line}: ${run.result.status}${run.result.exitCode !== null ? ` (exit ${run.result.exitCode})` : ''}; reported when the control plane is back`,
        { status: run.result.status, exitCode: run.result.exitCode },
      );
    const report: AutonomyReport = {
      site: config.site,
      at: new Date().toISOString(),
      fromLink: from,
      toLink: to,
      reason: reason.slice(0, 1024),
      ack,
    };
    await queue({ v: 1, type: 'autonomy', report });
  };

  // -------------------------------------------------------------------------------------------------------------

  log.log(
    'info',
    'started',
    `agent for site ${config.site}: links ${linkIds.join(', ')} (active ${active}); ${config.checks.planned.length} inside-out check(s); autonomy ${config.autonomy.enabled ? 'on' : 'off'}; transport ${config.controlPlane.transport}${outbox.size ? `; ${outbox.size} message(s) queued from before` : ''}`,
    { site: config.site, active, queued: outbox.size, vantages: linkIds.map((l) => agentVantage(config.site, l)) },
  );
  if (config.dryRun) log.log('warn', 'dry-run', 'dry run: actions are logged and acked, never run');
  client.start();
  const loops = Promise.all([probeLoop(), autonomyLoop()]).catch((error: unknown) =>
    log.log('error', 'agent-error', `agent loop failed: ${(error as Error).message}`),
  );

  let stopped: Promise<void> | undefined;
  return {
    activeLink: () => active,
    stop() {
      stopped ??= (async () => {
        stopping = true;
        log.log('info', 'stopping', 'stopping: finishing the action in progress, if any');
        sleeper.cancel();
        rounds.abort();
        await chain;
        await loops;
        await chain;
        await client.stop();
        await outbox.flushed();
        await activeFile.flushed();
        log.log(
          'info',
          'stopped',
          `stopped${outbox.size ? `; ${outbox.size} message(s) kept in ${config.stateDir} for the next start` : ''}`,
          { queued: outbox.size },
        );
      })();
      return stopped;
    },
  };
}

function summary(batch: ObservationBatch): string {
  const up = batch.observations.filter((o) => o.outcome === 'up').length;
  return `${up}/${batch.observations.length} up`;
}
