import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { docBlocks, unitFile } from '../support/agent-bundle.ts';
import { REPO_ROOT } from '../support/cli.ts';

const exec = promisify(execFile);
const hasAnalyze = await exec('systemd-analyze', ['--version']).then(
  () => true,
  () => false,
);
const requirePeers = process.env.FAILOVER_REQUIRE_PEERS === '1';
const INIT = join(REPO_ROOT, 'packaging/openwrt/failover-agent.init');
const COMMAND = ['run', '--config', '/etc/failover-agent/agent.yaml'];

async function scratch(name: string): Promise<string> {
  const base = join(inject('scratchDir'), 'agent-packaging');
  await mkdir(base, { recursive: true });
  return mkdtemp(join(base, `${name}-`));
}

describe('the systemd unit (packaging/systemd/failover-agent.service)', () => {
  it('runs the bundle by absolute paths as its own user, with CAP_NET_ADMIN alone and a read-only system', async () => {
    const unit = await unitFile();
    const start = unit.get('Service', 'ExecStart');
    expect(start).toHaveLength(1);
    expect(start[0]!.split(' ')).toEqual(['/usr/bin/node', '/opt/failover-agent/failover-agent.mjs', ...COMMAND]);
    expect(unit.text).not.toMatch(/npx/);
    const one = (key: string) => unit.get('Service', key);
    expect(one('User')).toEqual(['failover-agent']);
    expect(one('WorkingDirectory')).toEqual(['/var/lib/failover-agent']);
    expect(one('StateDirectory')).toEqual(['failover-agent']);
    expect(one('StateDirectoryMode')).toEqual(['0700']);
    expect(one('AmbientCapabilities')).toEqual(['CAP_NET_ADMIN']);
    expect(one('CapabilityBoundingSet')).toEqual(['CAP_NET_ADMIN']);
    expect(one('NoNewPrivileges')).toEqual(['yes']);
    expect(one('ProtectSystem')).toEqual(['strict']);
    expect(one('PrivateTmp')).toEqual(['yes']);
    expect(one('KillMode')).toEqual(['mixed']);
    expect(one('RestartPreventExitStatus')).toEqual(['2']);
  });

  it('is the unit docs/agent-install.md shows', async () => {
    const unit = await unitFile();
    const blocks = (await docBlocks('agent-install.md')).filter((b) => b.lang === 'ini');
    expect(blocks.map((b) => `${b.text}\n`)).toContain(unit.text);
  });

  it.skipIf(!hasAnalyze && !requirePeers)('passes systemd-analyze verify, and security rates it OK', async () => {
    // verify reports unknown keys and bad values on stderr with exit status 0: both must be empty-handed.
    const dir = await scratch('unit');
    const file = join(dir, 'failover-agent.service');
    await copyFile(join(REPO_ROOT, 'packaging/systemd/failover-agent.service'), file);
    const verify = await exec('systemd-analyze', ['verify', file]);
    expect(verify.stderr).toBe('');
    expect(verify.stdout).toBe('');
    const security = await exec('systemd-analyze', ['security', '--offline=yes', '--no-pager', file]);
    const score = /Overall exposure level for failover-agent\.service: (\d+\.\d)/.exec(security.stdout);
    expect(score, security.stdout).not.toBeNull();
    expect(Number(score![1])).toBeLessThanOrEqual(4);

    // The check can fail: a unit naming a program that is not there is refused.
    await writeFile(file, (await readFile(file, 'utf8')).replace('/usr/bin/node ', '/usr/bin/no-such-node '));
    await expect(exec('systemd-analyze', ['verify', file])).rejects.toMatchObject({
      stderr: expect.stringContaining('/usr/bin/no-such-node is not executable'),
    });
  });
});

/** Runs the init script's start_service with stand-ins for procd's functions; the parameters it set, in order. */
async function procdParams(script: string): Promise<string[][]> {
  const harness = [
    'procd_open_instance() { echo open_instance; }',
    'procd_close_instance() { echo close_instance; }',
    // One line per call, its arguments separated by a tab: arguments with spaces stay whole.
    'procd_set_param() { printf "set_param"; for a in "$@"; do printf "\\t%s" "$a"; done; echo; }',
    `. "${script}"`,
    'start_service',
  ].join('\n');
  const { stdout } = await exec('sh', ['-c', harness]);
  return stdout
    .trim()
    .split('\n')
    .map((line) => line.split('\t'));
}

describe('the OpenWrt init script (packaging/openwrt/failover-agent.init)', () => {
  it('is valid sh, uses procd, and hands procd the command line of the unit', async () => {
    await exec('sh', ['-n', INIT]);
    const text = await readFile(INIT, 'utf8');
    expect(text.split('\n')[0]).toBe('#!/bin/sh /etc/rc.common');
    expect(text).toMatch(/^USE_PROCD=1$/m);
    const calls = await procdParams(INIT);
    expect(calls[0]).toEqual(['open_instance']);
    expect(calls.at(-1)).toEqual(['close_instance']);
    const params = new Map(calls.filter((c) => c[0] === 'set_param').map((c) => [c[1]!, c.slice(2)]));
    expect(params.get('command')).toEqual([
      '/usr/bin/node',
      '/usr/share/failover-agent/failover-agent.mjs',
      ...COMMAND,
    ]);
    const unitStart = (await unitFile()).get('Service', 'ExecStart')[0]!.split(' ');
    expect(params.get('command')!.slice(2)).toEqual(unitStart.slice(2));
    expect(params.get('respawn')).toEqual(['3600', '5', '0']);
    expect(params.get('stdout')).toEqual(['1']);
    expect(params.get('stderr')).toEqual(['1']);
    expect(params.get('file')).toEqual(['/etc/failover-agent/agent.yaml']);
    // As shipped it runs as root, which the mwan3 action needs.
    expect(params.has('user')).toBe(false);
  });

  it('with AGENT_USER: that user, no new privileges, and CAP_NET_ADMIN alone when ujail is there', async () => {
    const dir = await scratch('procd');
    const ujail = join(dir, 'ujail');
    await writeFile(ujail, '#!/bin/sh\n');
    await chmod(ujail, 0o755);
    const caps = join(dir, 'failover-agent.json');
    await copyFile(join(REPO_ROOT, 'packaging/openwrt/failover-agent.json'), caps);
    const script = join(dir, 'failover-agent.init');
    const text = (await readFile(INIT, 'utf8'))
      .replace(/^AGENT_USER=$/m, 'AGENT_USER=failover-agent')
      .replaceAll('/sbin/ujail', ujail)
      .replaceAll('/etc/capabilities/failover-agent.json', caps);
    await writeFile(script, text);
    const params = new Map((await procdParams(script)).map((c) => [c[1]!, c.slice(2)]));
    expect(params.get('user')).toEqual(['failover-agent']);
    expect(params.get('group')).toEqual(['failover-agent']);
    expect(params.get('no_new_privs')).toEqual(['1']);
    expect(params.get('capabilities')).toEqual([caps]);

    const sets = JSON.parse(await readFile(caps, 'utf8')) as Record<string, string[]>;
    expect(Object.keys(sets).sort()).toEqual(['ambient', 'bounding', 'effective', 'inheritable', 'permitted']);
    for (const set of Object.values(sets)) expect(set).toEqual(['CAP_NET_ADMIN']);
  });
});
