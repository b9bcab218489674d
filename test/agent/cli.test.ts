import { chmod, mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { privateKeyFromPem, publicKeyFromRaw, rawPublicKey } from '../../shared/contracts/agent-signing.ts';
import { createPublicKey } from 'node:crypto';
import { agentFixture } from '../support/agent-fixture.ts';
import { STACK_FRAME, jsonLines, runCli, startCli, type CliProcess } from '../support/cli.ts';
import { FakeControlPlane } from '../support/fake-control-plane.ts';

const scratch = async () => {
  const base = join(inject('scratchDir'), 'agent-cli');
  await mkdir(base, { recursive: true });
  return mkdtemp(join(base, 'run-'));
};
const planes: FakeControlPlane[] = [];
const children: CliProcess[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) c.child.kill('SIGKILL');
  await Promise.all(planes.splice(0).map((p) => p.stop()));
});

async function plane(publicKey: string): Promise<FakeControlPlane> {
  const cp = new FakeControlPlane({ sites: { hq: publicKey } });
  planes.push(cp);
  await cp.start();
  return cp;
}

function agent(config: string, ...extra: string[]): CliProcess {
  const child = startCli(['agent', '--config', config, '--json-logs', ...extra], { timeoutMs: 45_000 });
  children.push(child);
  return child;
}

describe('failover agent keygen', () => {
  it('writes the private key with mode 0600 and prints a public key sites.yaml accepts', async () => {
    const dir = await scratch();
    const out = join(dir, 'agent.key');
    const result = await runCli(['agent', 'keygen', '--out', out]);
    expect(result.code).toBe(0);
    const publicKey = result.stdout.trim();
    expect(publicKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(() => publicKeyFromRaw(publicKey)).not.toThrow();
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    const key = privateKeyFromPem(await readFile(out, 'utf8'));
    expect(rawPublicKey(createPublicKey(key))).toBe(publicKey);
    expect(result.stderr).toMatch(/agent\.publicKey/);

    const again = await runCli(['agent', 'keygen', '--out', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('exists; pass --force to replace it');
    await chmod(out, 0o644);
    const forced = await runCli(['agent', 'keygen', '--out', out, '--force']);
    expect(forced.code).toBe(0);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    expect(forced.stdout.trim()).not.toBe(publicKey);
  });

  it('makes the folder of --out when it is missing, mode 0700, as docs/agent-install.md runs it', async () => {
    const dir = await scratch();
    const out = join(dir, 'etc', 'failover-agent', 'private', 'agent.key');
    const result = await runCli(['agent', 'keygen', '--out', out]);
    expect(result.code, result.stderr).toBe(0);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'etc', 'failover-agent', 'private'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, 'etc'))).mode & 0o777).toBe(0o700);
  });

  it('without --out prints both keys and where the private one goes', async () => {
    const result = await runCli(['agent', 'keygen']);
    expect(result.code).toBe(0);
    const [publicKey, ...pem] = result.stdout.trim().split('\n');
    expect(() => publicKeyFromRaw(publicKey!)).not.toThrow();
    expect(() => privateKeyFromPem(pem.join('\n'))).not.toThrow();
    expect(result.stderr).toMatch(/chmod 600.*--out FILE/);
    const json = JSON.parse((await runCli(['agent', 'keygen', '--json'])).stdout) as Record<string, string>;
    expect(Object.keys(json).sort()).toEqual(['privateKeyPem', 'publicKey']);
  });
});

describe('failover agent: refusing to start', () => {
  it('lists every configuration problem with line:column and exits 2', async () => {
    const dir = await scratch();
    const file = join(dir, 'agent.yaml');
    await writeFile(file, 'version: 2\nsite: hq\ncontrolPlane: { url: ws://example.com/v1/agent/ws }\n');
    const result = await runCli(['agent', '--config', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${file}: `);
    expect(result.stderr).toContain('version (line 1:10): expected 1');
    expect(result.stderr).toContain('links (line 1:1): required');
    expect(result.stderr).toContain('controlPlane.url (line 3:22): ws:// (unencrypted) is allowed only on loopback');
    expect(result.stderr).not.toMatch(STACK_FRAME);
  });

  it('refuses a key file others can read, and a missing one, with what to do', async () => {
    const fx = await agentFixture(await scratch());
    const cp = await plane(fx.publicKey);
    const config = await fx.writeConfig(cp);
    await chmod(fx.keyFile, 0o640);
    const open = await runCli(['agent', '--config', config]);
    expect(open.code).toBe(2);
    expect(open.stderr).toContain(`privateKeyFile ${fx.keyFile} is accessible by group or others (mode 0640)`);
    expect(open.stderr).toContain(`chmod 600 ${fx.keyFile}`);

    const missing = await runCli(['agent', '--config', await fx.writeConfig(cp, { privateKeyFile: 'nope.key' })]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /nope\.key: no such file \(create it with `failover agent keygen --out .*nope\.key`\)/,
    );
    expect(open.stderr + missing.stderr).not.toMatch(STACK_FRAME);
  });
});

describe('failover agent as a process', () => {
  it('runs a command, exits 0 on SIGTERM, and answers the same command after a restart with its first ack', async () => {
    const fx = await agentFixture(await scratch());
    const cp = await plane(fx.publicKey);
    const config = await fx.writeConfig(cp);

    const first = agent(config);
    await cp.waitFor(() => cp.connected('hq'), 20_000, 'the agent to connect');
    const cmd = cp.command('hq', { args: { link: 'lte' } });
    expect(await cp.ackOf(cmd.id)).toMatchObject({ status: 'succeeded', exitCode: 0 });
    first.child.kill('SIGTERM');
    const ended = await first.exited;
    expect(ended.code).toBe(0);
    const events = jsonLines(ended.stdout).map((l) => l.event);
    expect(events).toEqual(expect.arrayContaining(['started', 'connected', 'command', 'command-done', 'stopped']));
    expect(ended.stdout + ended.stderr).not.toMatch(STACK_FRAME);

    const second = agent(config);
    await second.waitFor('"event":"connected"', { timeoutMs: 20_000 });
    cp.deliver('hq', cmd);
    // A resend after the restart is answered with the ack of its first run, and runs nothing.
    const [firstAck, repeatAck] = await cp.waitFor(() => {
      const acks = cp.acks.filter((a) => a.commandId === cmd.id);
      return acks.length >= 2 ? acks : undefined;
    });
    expect(repeatAck).toEqual(firstAck);
    expect(repeatAck).toMatchObject({ status: 'succeeded' });
    expect(await fx.records()).toEqual([`lte fiber ${cmd.id}`]);
    second.child.kill('SIGINT');
    expect((await second.exited).code).toBe(0);
  });

  it('finishes the action in progress on SIGTERM and still acks it', async () => {
    const fx = await agentFixture(await scratch());
    const slow = await fx.script('slow', 'sleep 1\necho "done with $1"');
    const cp = await plane(fx.publicKey);
    const config = await fx.writeConfig(cp, {
      actions: { 'switch-wan': { command: slow, args: ['{link}'], timeoutSeconds: 10 } },
    });
    const child = agent(config);
    await cp.waitFor(() => cp.connected('hq'), 20_000, 'the agent to connect');
    const cmd = cp.command('hq');
    await child.waitFor('"event":"command"');
    child.child.kill('SIGTERM');
    const ended = await child.exited;
    expect(ended.code).toBe(0);
    expect(await cp.ackOf(cmd.id, 5000)).toMatchObject({ status: 'succeeded', output: 'done with lte\n' });
  });

  it('keeps retrying an unreachable control plane with readable lines, and stops cleanly', async () => {
    const fx = await agentFixture(await scratch());
    const cp = await plane(fx.publicKey);
    const config = await fx.writeConfig(cp);
    await cp.stop();
    const child = startCli(['agent', '--config', config], { timeoutMs: 45_000 });
    children.push(child);
    await child.waitFor(/retrying in [\d.]+ s[\s\S]*retrying in [\d.]+ s/, { timeoutMs: 20_000 });
    await cp.start();
    await child.waitFor(/INFO +connected to ws:/, { timeoutMs: 20_000 });
    child.child.kill('SIGINT');
    const ended = await child.exited;
    expect(ended.code).toBe(0);
    expect(ended.stdout).toMatch(
      /WARN +getting a challenge from http:\/\/127\.0\.0\.1:\d+\/v1\/agent\/challenge failed: /,
    );
    expect(ended.stdout + ended.stderr).not.toMatch(STACK_FRAME);
    expect(ended.stdout).toMatch(/INFO +stopped/);
  });
});
