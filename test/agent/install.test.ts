import { chmod, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { describe, expect, inject, it } from 'vitest';
import {
  docBlocks,
  docCommand,
  installBundle,
  runBundle,
  startBundle,
  unitFile,
  type InstallRoot,
} from '../support/agent-bundle.ts';
import { writeDemoConfig } from '../support/demo-config.ts';
import { fileLines, startRuntimeChild, until, type RuntimeChild } from '../support/runtime-child.ts';

/**
 * docs/agent-install.md, step by step, with the box's paths inside an empty folder: the bundle built now, the doc's
 * keygen line, the key in a local runtime's sites.yaml, the doc's switch script and agent.yaml, and the unit's
 * ExecStart, until a failover of the site makes the agent run the script.
 */

/** The doc's code block whose text starts with `#!/bin/sh\n# <file>` or `# <file>`, paths mapped. */
async function docFile(box: InstallRoot, file: string): Promise<string> {
  const block = (await docBlocks('agent-install.md')).find(
    (b) => b.text.startsWith(`# ${file}`) || b.text.startsWith(`#!/bin/sh\n# ${file}`),
  );
  if (!block) throw new Error(`docs/agent-install.md shows no ${file}`);
  return `${box.map(block.text)}\n`;
}

describe('the agent installed from its bundle by docs/agent-install.md', () => {
  it("connects to the local runtime and runs the doc's switch script on a failover", async () => {
    const box = await installBundle('install');
    const base = join(inject('scratchDir'), 'agent-install');
    await mkdir(base, { recursive: true });
    const work = await mkdtemp(join(base, 'runtime-'));
    let runtime: RuntimeChild | undefined;
    try {
      // 2. The bundle answers.
      const version = await runBundle(box, await docCommand(box, '--version'));
      expect(version.code).toBe(0);

      // 4. The key pair: keygen makes the private folder (0700) in /etc/failover-agent.
      await mkdir(box.at('/etc/failover-agent'), { recursive: true, mode: 0o755 }); // `install -d -m 0755`, as step 4 does first
      const keygen = await runBundle(box, await docCommand(box, 'keygen'));
      expect(keygen.code, keygen.stderr).toBe(0);
      const publicKey = keygen.stdout.trim();

      // 5. The control plane learns the public key from sites.yaml (here a local runtime's).
      const demo = await writeDemoConfig(work);
      const sites = demo.text.replace(/agent: \{ publicKey: [^ ]+ \}/, `agent: { publicKey: ${publicKey} }`);
      expect(sites).toContain(publicKey);
      await writeFile(demo.file, sites);
      const dataDir = join(work, 'data');
      runtime = await startRuntimeChild({ config: demo.file, dataDir });
      // The demo key is no longer in the configuration: no demo agent in the runtime, only ours.
      expect(runtime.ready.agents).toEqual([]);

      // 6. The control plane's public key, from its data directory.
      const controlPlaneKey = (await readFile(join(dataDir, 'agent-signing-key.pub'), 'utf8')).trim();

      // 7. The switch script, as the doc shows it.
      const script = box.at('/usr/local/bin/failover-switch');
      await mkdir(join(script, '..'), { recursive: true });
      await writeFile(script, await docFile(box, '/usr/local/bin/failover-switch'));
      await chmod(script, 0o755);

      // 8. agent.yaml, as the doc shows it, with this site, this runtime's URL and key.
      const yaml = parse(await docFile(box, '/etc/failover-agent/agent.yaml')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      yaml.site = 'demo';
      yaml.controlPlane.url = runtime.ready.agentUrl;
      yaml.controlPlane.publicKey = controlPlaneKey;
      await writeFile(box.at('/etc/failover-agent/agent.yaml'), stringify(yaml));

      // 9. The unit's command, from its working directory (StateDirectory= makes it, mode 0700).
      const unit = await unitFile();
      const [node, ...args] = unit
        .get('Service', 'ExecStart')[0]!
        .split(' ')
        .map((a) => box.map(a));
      const workDir = box.map(unit.get('Service', 'WorkingDirectory')[0]!);
      await mkdir(workDir, { recursive: true, mode: 0o700 });
      const agent = startBundle(box, args.slice(1), {
        command: [node === '/usr/bin/node' ? process.execPath : node!, args[0]!],
        cwd: workDir,
        timeoutMs: 150_000,
      });
      try {
        // 10. It starts and connects, and the control plane accepts it.
        await agent.waitFor(/INFO {2}connected to ws:\/\/127\.0\.0\.1:\d+\/v1\/agent\/ws \(WebSocket\)/, {
          timeoutMs: 30_000,
        });
        expect(agent.stdout()).toMatch(/INFO {2}agent for site demo: links fiber, lte \(active fiber\)/);
        await runtime.waitForEvent(
          'the agent to be accepted',
          (e) => e.event === 'agent' && e.type === 'auth-accepted' && e.site === 'demo',
        );

        // A failover of the site: the runtime sends switch-wan, the agent runs the script, which writes its line.
        const broke = await runtime.demo('break', 'primary');
        expect(broke.code, broke.stderr).toBe(0);
        const ack = await runtime.waitForEvent(
          "the agent's ack",
          (e) => e.event === 'agent' && e.type === 'command-acked',
          90_000,
        );
        expect(ack).toMatchObject({ site: 'demo', status: 'succeeded' });
        const record = box.at('/var/lib/failover-agent/switches.log');
        const lines = await until('the switch record', async () => {
          const l = await fileLines(record);
          return l.length > 0 ? l : undefined;
        });
        expect(lines).toEqual([
          expect.stringMatching(new RegExp(`^switch to lte \\(from fiber\\) by command ${ack.id} at `)),
        ]);
        expect(agent.stdout()).toMatch(/INFO {2}.*switch-wan/);
        expect(JSON.parse(await readFile(join(workDir, 'active-link.json'), 'utf8'))).toMatchObject({
          link: 'lte',
          by: 'command',
        });
      } finally {
        agent.child.kill('SIGTERM');
      }
      const exit = await agent.exited;
      expect(exit.code, exit.stderr).toBe(0);
    } finally {
      await runtime?.stop();
      await box.remove();
    }
  }, 180_000);
});
