import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { describe, expect, inject, it } from 'vitest';
import { docBlocks, docCommand, installBundle, runBundle, startBundle, unitFile } from '../support/agent-bundle.ts';
import { writeDemoConfig } from '../support/demo-config.ts';
import { startRuntimeChild, until, type RuntimeChild } from '../support/runtime-child.ts';

/**
 * The bundle on a "site box": a network namespace with the two WAN interfaces of docs/agent.md's `ip route` example
 * (each a veth pair whose other end stays in the namespace: nothing leaves it), the agent running as an unprivileged user with CAP_NET_ADMIN alone, as
 * the systemd unit runs it. Its only way out is a forwarder from the namespace's loopback to the local runtime, over
 * a UNIX socket (file system paths cross network namespaces).
 */

const exec = promisify(execFile);
const NOBODY = 65534;
const canNetns =
  process.getuid?.() === 0 &&
  (await exec('ip', ['netns', 'list']).then(
    () => true,
    () => false,
  ));
// What the unit grants: a user of its own, CAP_NET_ADMIN as the only capability, ambient, no new privileges.
const AS_UNIT = [
  'setpriv',
  `--reuid=${NOBODY}`,
  `--regid=${NOBODY}`,
  '--clear-groups',
  '--inh-caps=-all,+net_admin',
  '--ambient-caps=-all,+net_admin',
  '--bounding-set=-all,+net_admin',
  '--no-new-privs',
];
const AS_USER = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--no-new-privs'];

/** Forwards TCP 127.0.0.1:port inside the namespace to the UNIX socket given: run with `ip netns exec`. */
const FORWARDER = `
const net = require('node:net');
const [socket, port] = process.argv.slice(1);
net.createServer((c) => { const u = net.connect(socket); c.pipe(u).pipe(c); u.on('error', () => c.destroy()); c.on('error', () => u.destroy()); })
  .listen(Number(port), '127.0.0.1', () => console.log('forwarding'));
`;

describe.skipIf(!canNetns && process.env.FAILOVER_REQUIRE_PEERS !== '1')(
  'the agent bundle in a network namespace, with the privileges of its systemd unit',
  () => {
    it("runs agent.md's `ip route replace` on a failover; without CAP_NET_ADMIN that command is refused", async () => {
      const ns = `failover-agent-${randomBytes(4).toString('hex')}`;
      const box = await installBundle('netns');
      const base = join(inject('scratchDir'), 'agent-netns');
      await mkdir(base, { recursive: true });
      const work = await mkdtemp(join(base, 'runtime-'));
      const ip = (...args: string[]) => exec('ip', ['-n', ns, ...args]);
      const children: ChildProcess[] = [];
      let bridge: Server | undefined;
      let runtime: RuntimeChild | undefined;
      await exec('ip', ['netns', 'add', ns]);
      try {
        await ip('link', 'set', 'lo', 'up');
        for (const [dev, address] of [
          ['eth1', '203.0.113.10/24'],
          ['wwan0', '100.64.0.2/24'],
        ] as const) {
          await ip('link', 'add', dev, 'type', 'veth', 'peer', 'name', `${dev}-peer`);
          await ip('addr', 'add', address, 'dev', dev);
          await ip('link', 'set', dev, 'up');
          await ip('link', 'set', `${dev}-peer`, 'up');
        }
        await ip('route', 'add', 'default', 'via', '203.0.113.1', 'dev', 'eth1');

        // Without the capability, the user may not change the routes.
        const refused = await exec('ip', [
          'netns',
          'exec',
          ns,
          ...AS_USER,
          '/usr/sbin/ip',
          'route',
          'replace',
          'default',
          'via',
          '100.64.0.1',
          'dev',
          'wwan0',
        ]).catch((error: { stderr: string }) => error);
        expect(refused.stderr).toContain('Operation not permitted');
        expect((await ip('route', 'show', 'default')).stdout.trim()).toBe('default via 203.0.113.1 dev eth1');

        // The key (docs/agent-install.md step 4), owned by the agent's user.
        await mkdir(box.at('/etc/failover-agent'), { recursive: true, mode: 0o755 }); // `install -d -m 0755`, as step 4 does first
        const keygen = await runBundle(box, await docCommand(box, 'keygen'));
        expect(keygen.code, keygen.stderr).toBe(0);
        const keyDir = box.at('/etc/failover-agent/private');
        await chown(keyDir, NOBODY, NOBODY);
        await chown(join(keyDir, 'agent.key'), NOBODY, NOBODY);

        const demo = await writeDemoConfig(work);
        await writeFile(
          demo.file,
          demo.text.replace(/agent: \{ publicKey: [^ ]+ \}/, `agent: { publicKey: ${keygen.stdout.trim()} }`),
        );
        const dataDir = join(work, 'data');
        runtime = await startRuntimeChild({ config: demo.file, dataDir });
        const api = new URL(runtime.ready.api);

        // The way out of the namespace: 127.0.0.1:8080 inside it reaches the runtime's API port outside.
        const socket = join(box.root, 'control-plane.sock');
        bridge = createServer((c) => {
          const upstream = connect(Number(api.port), api.hostname);
          c.pipe(upstream).pipe(c);
          upstream.on('error', () => c.destroy());
          c.on('error', () => upstream.destroy());
        });
        await new Promise<void>((resolve) => bridge!.listen(socket, resolve));
        const forwarder = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', FORWARDER, socket, '8080'], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        children.push(forwarder);
        await new Promise<void>((resolve, reject) => {
          forwarder.stdout!.once('data', () => resolve());
          forwarder.once('exit', (code) => reject(new Error(`the forwarder exited with ${code}`)));
        });

        // agent.yaml: the doc's, with agent.md's `ip route` links and actions.
        const doc = (await docBlocks('agent-install.md')).find((b) =>
          b.text.startsWith('# /etc/failover-agent/agent.yaml'),
        )!;
        const yaml = parse(box.map(doc.text)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
        const ipRoute = (await docBlocks('agent.md')).find(
          (b) =>
            b.lang === 'yaml' &&
            b.text.startsWith('links:') &&
            b.text.includes('restore-wan:\n    command: /usr/sbin/ip'),
        )!;
        Object.assign(yaml, parse(ipRoute.text));
        yaml.site = 'demo';
        yaml.controlPlane.url = 'ws://127.0.0.1:8080/v1/agent/ws';
        yaml.controlPlane.publicKey = (await readFile(join(dataDir, 'agent-signing-key.pub'), 'utf8')).trim();
        await writeFile(box.at('/etc/failover-agent/agent.yaml'), stringify(yaml));
        const stateDir = box.at('/var/lib/failover-agent');
        await mkdir(join(stateDir, '..'), { recursive: true });
        await mkdir(stateDir, { mode: 0o700 });
        await chown(stateDir, NOBODY, NOBODY);

        // The unit's ExecStart, inside the namespace, with the unit's privileges.
        const [, bundle, ...args] = (await unitFile()).get('Service', 'ExecStart')[0]!.split(' ').map(box.map);
        expect(bundle).toBe(box.bundle.installed);
        const agent = startBundle(box, args, {
          command: ['ip', 'netns', 'exec', ns, ...AS_UNIT, process.execPath, bundle!],
          cwd: stateDir,
          timeoutMs: 150_000,
        });
        children.push(agent.child);
        await agent.waitFor('INFO  connected to ws://127.0.0.1:8080/v1/agent/ws (WebSocket)', { timeoutMs: 30_000 });

        expect((await runtime.demo('break', 'primary')).code).toBe(0);
        const ack = await runtime.waitForEvent(
          "the agent's ack",
          (e) => e.event === 'agent' && e.type === 'command-acked',
          90_000,
        );
        expect(ack, agent.stdout()).toMatchObject({ site: 'demo', status: 'succeeded' });
        await until('the new default route', async () => {
          const route = (await ip('route', 'show', 'default')).stdout.trim();
          return route === 'default via 100.64.0.1 dev wwan0' ? route : undefined;
        });
        agent.child.kill('SIGTERM');
        expect((await agent.exited).code).toBe(0);
      } finally {
        for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await new Promise<void>((resolve) => (bridge ? bridge.close(() => resolve()) : resolve()));
        await runtime?.stop();
        await exec('ip', ['netns', 'del', ns]);
        await box.remove();
      }
    }, 180_000);
  },
);
