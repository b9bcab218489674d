import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SipSpec } from '../../shared/config/checks.ts';
import { sipProbe } from '../../shared/probes/sip.ts';

// Debian package `kamailio` (5.6 on bookworm); the test is skipped where it is not installed.
const KAMAILIO = '/usr/sbin/kamailio';
const present = existsSync(KAMAILIO);

function config(port: number): string {
  return `#!KAMAILIO
debug=2
log_stderror=yes
children=1
tcp_children=1
disable_sctp=yes
enable_tls=no
auto_aliases=no
listen=udp:127.0.0.1:${port}
listen=tcp:127.0.0.1:${port}
loadmodule "sl.so"
request_route {
  if (method == "OPTIONS") {
    if (uri =~ "^sip:nobody@") {
      sl_send_reply("404", "Not Found");
      exit;
    }
    sl_send_reply("200", "OK");
    exit;
  }
  sl_send_reply("405", "Method Not Allowed");
}
`;
}

/** A port that was free on both UDP and TCP a moment ago. */
async function freePort(): Promise<number> {
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind({ address: '127.0.0.1', port: 0 }, resolve));
  const port = udp.address().port;
  const tcp = net.createServer();
  const ok = await new Promise<boolean>((resolve) => {
    tcp.once('error', () => resolve(false));
    tcp.listen({ host: '127.0.0.1', port }, () => resolve(true));
  });
  await new Promise<void>((resolve) => udp.close(() => resolve()));
  if (ok) await new Promise<void>((resolve) => tcp.close(() => resolve()));
  return ok ? port : freePort();
}

interface Kamailio {
  readonly port: number;
  readonly child: ChildProcess;
  readonly log: string[];
}

async function startKamailio(dir: string): Promise<Kamailio> {
  let lastLog: string[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const cfg = join(dir, 'kamailio.cfg');
    await writeFile(cfg, config(port));
    const log: string[] = [];
    const child = spawn(KAMAILIO, ['-DD', '-E', '-f', cfg, '-Y', dir, '-m', '16', '-M', '4'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => log.push(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => log.push(chunk.toString()));
    let exited = false;
    child.once('exit', () => (exited = true));
    const end = performance.now() + 10_000;
    while (!exited && performance.now() < end) {
      const probe = await sipProbe(SipSpec.parse({ host: '127.0.0.1', port, transport: 'tcp' }), { timeoutMs: 500 });
      if (probe.outcome === 'up') return { port, child, log };
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await stopKamailio(child);
    lastLog = log;
  }
  throw new Error(`kamailio did not start:\n${lastLog.join('').slice(-2000)}`);
}

async function stopKamailio(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

// CI sets FAILOVER_REQUIRE_PEERS=1 so that a missing peer fails the run instead of skipping it silently.
it.runIf(process.env.FAILOVER_REQUIRE_PEERS === '1')('has kamailio installed (required in CI)', () => {
  expect(present, `${KAMAILIO} is missing: apt-get install -y kamailio`).toBe(true);
});

describe.skipIf(!present)('sipProbe against Kamailio', () => {
  let dir: string;
  let kamailio: Kamailio | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'failover-kamailio-'));
    kamailio = await startKamailio(dir);
  });
  afterAll(async () => {
    if (kamailio) await stopKamailio(kamailio.child);
    await rm(dir, { recursive: true, force: true });
  });

  for (const transport of ['udp', 'tcp'] as const) {
    it(`gets 200 to OPTIONS over ${transport}`, async () => {
      const result = await sipProbe(SipSpec.parse({ host: '127.0.0.1', port: kamailio!.port, transport }), {
        timeoutMs: 3000,
      });
      expect(result).toMatchObject({ outcome: 'up', errorClass: null });
      expect(result.fields).toMatchObject({ status: 200, reason: 'OK', transmissions: 1, transport });
      expect(String(result.fields.server)).toMatch(/^kamailio/);
    });

    it(`judges Kamailio's 404 against expectStatus over ${transport}`, async () => {
      const base = { host: '127.0.0.1', port: kamailio!.port, transport, requestUri: 'sip:nobody@127.0.0.1' };
      const down = await sipProbe(SipSpec.parse(base), { timeoutMs: 3000 });
      expect(down).toMatchObject({ outcome: 'down', errorClass: 'status', detail: '404 Not Found, expected 200' });
      const up = await sipProbe(SipSpec.parse({ ...base, expectStatus: [200, 404] }), { timeoutMs: 3000 });
      expect(up.outcome).toBe('up');
    });
  }
});
