import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { ObservationBatch } from '../contracts/observation.ts';
import type { PlannedCheck } from '../config/model.ts';
import { runRound, roundIdFor, toSiteBatches } from '../probes/round.ts';
import type { AgentLinkConfig } from './config.ts';

type Interfaces = ReturnType<typeof networkInterfaces>;

/** The source address that sends a check out through `link`, or why there is none right now. */
export type LinkAddress = { readonly address: string; readonly problem?: undefined } | { readonly problem: string };

/**
 * The address to bind for `link`: its `sourceAddress` when this machine can bind it, else the first IPv4 address of
 * its `interface`. Read each time: an LTE modem's address changes when it reconnects.
 */
export async function linkAddress(
  link: AgentLinkConfig,
  interfaces: Interfaces = networkInterfaces(),
): Promise<LinkAddress> {
  if (link.sourceAddress !== undefined) {
    const problem = await bindProblem(link.sourceAddress);
    return problem === undefined
      ? { address: link.sourceAddress }
      : { problem: `source address ${link.sourceAddress} cannot be bound (${problem})` };
  }
  if (link.interface === undefined) return { problem: 'the link has neither sourceAddress nor interface' };
  const list = interfaces[link.interface];
  if (!list) return { problem: `no interface ${link.interface}` };
  const ipv4 = list.find((i) => i.family === 'IPv4');
  return ipv4 ? { address: ipv4.address } : { problem: `interface ${link.interface} has no IPv4 address` };
}

/** Why `address` cannot be bound on this machine (EADDRNOTAVAIL when no interface has it), or undefined. */
function bindProblem(address: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(isIPv6(address) ? 'udp6' : 'udp4');
    socket.once('error', (error: NodeJS.ErrnoException) => {
      socket.close();
      resolve(error.code ?? error.message);
    });
    socket.bind({ address, port: 0 }, () => socket.close(() => resolve(undefined)));
  });
}

/** The vantage of an agent's checks through one link. */
export function agentVantage(site: string, link: string): string {
  return `site:${site}/${link}`;
}

export interface InsideOutOptions {
  readonly site: string;
  readonly link: AgentLinkConfig;
  readonly address: string;
  readonly checks: readonly PlannedCheck[];
  /** When the round was scheduled (its id). */
  readonly scheduledAt: number;
  readonly concurrency: number;
  readonly jitterMs: number;
  readonly budgetMs: number;
  readonly signal?: AbortSignal;
}

/**
 * One round of the site's checks through one link, with the same round runner (and probes) as the probe regions:
 * the batch's vantage is `site:<site>/<link>` and every observation's `link` is that link. Undefined when no
 * check ran (the round was cut short).
 */
export async function insideOutRound(options: InsideOutOptions): Promise<ObservationBatch | undefined> {
  const round = await runRound({
    vantage: agentVantage(options.site, options.link.id),
    roundId: roundIdFor(options.scheduledAt),
    checks: options.checks.map((c) => ({ ...c, site: options.site, link: options.link.id })),
    concurrency: options.concurrency,
    jitterMs: options.jitterMs,
    budgetMs: options.budgetMs,
    localAddress: options.address,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return toSiteBatches(round)[0];
}
