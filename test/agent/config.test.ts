import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { loadAgentConfig, parseAgentConfig } from '../../shared/agent/config.ts';
import { formatDiagnostic, loadConfig } from '../../shared/config/load.ts';
import { ConfigError } from '../../shared/errors.ts';

const KEY = 'xB2O6o8kS5BGX6ZkoTtVxpUn91FghSmQXa9n1Z3kXD0=';

const minimal = (extra = '') => `version: 1
site: hq
controlPlane:
  url: wss://agents.example.com/v1/agent/ws
  publicKey: ${KEY}
privateKeyFile: agent.key
stateDir: state
links:
  - { id: fiber, interface: eth1 }
  - { id: lte, sourceAddress: 198.51.100.20 }
${extra}`;

const problems = (text: string) => parseAgentConfig(text, '/etc/failover/agent.yaml').diagnostics.map(formatDiagnostic);

describe('agent.yaml', () => {
  it('applies defaults, derives the poll URL and resolves paths from the file', () => {
    const { config, diagnostics } = parseAgentConfig(minimal(), '/etc/failover/agent.yaml');
    expect(diagnostics).toEqual([]);
    expect(config).toMatchObject({
      site: 'hq',
      privateKeyFile: '/etc/failover/agent.key',
      stateDir: '/etc/failover/state',
      dryRun: false,
      actions: {},
      controlPlane: {
        pollUrl: 'https://agents.example.com/v1/agent',
        transport: 'auto',
        fallbackAfterFailures: 3,
        pollIntervalSeconds: 15,
        heartbeatSeconds: 20,
        reconnect: { minSeconds: 1, maxSeconds: 60 },
      },
      checks: { intervalSeconds: 60, planned: [] },
      autonomy: { enabled: false, down: 3, up: 3, count: 3, targets: [] },
    });
  });

  it('parses examples/agent.yaml', async () => {
    const config = await loadAgentConfig('examples/agent.yaml');
    expect(config.links.map((l) => l.id)).toEqual(['fiber', 'lte']);
    expect(config.autonomy).toMatchObject({ enabled: true, down: 3, up: 3 });
    expect(config.checks.planned.map((c) => c.id)).toContain('acme-crm/api');
  });

  it('names dependency checks exactly as sites.yaml does for the same site', async () => {
    // examples/agent.yaml checks the dependencies of site hq in examples/sites.yaml: same ids, same dependency.
    const agent = await loadAgentConfig('examples/agent.yaml');
    const sites = await loadConfig('examples/sites.yaml');
    const hq = sites.sites.find((s) => s.id === 'hq')!;
    const strip = ({ confirmRetryMs: _c, ...rest }: (typeof hq.checks)[number]) => rest;
    const fromSites = hq.checks.filter((c) => c.dependency !== null).map(strip);
    const fromAgent = agent.checks.planned.filter((c) => c.dependency !== null).map(strip);
    expect(fromAgent).toEqual(fromSites);
    expect(agent.checks.planned.find((c) => c.id === 'erp')).toMatchObject({ dependency: null, link: null });
  });

  it('lists every problem with its line and column', () => {
    const text = `version: 1
site: hq
controlPlane:
  url: ws://agents.example.com/v1/agent/ws
  publicKey: not-a-key
  transport: carrier-pigeon
privateKeyFile: agent.key
stateDir: state
links:
  - { id: fiber, interface: eth1 }
  - { id: fiber, sourceAddress: not-an-ip }
actions:
  switch-wan: { command: /usr/local/bin/switch, args: ['{link}', '{gatway}'], timeoutSecs: 3 }
checks:
  presets: [microsoft-365, nope]
  custom:
    - { id: erp, link: fiber, tcp: { host: erp.example.com, port: 443 } }
autonomy:
  enabled: true
  action: restore-wan
`;
    expect(problems(text)).toEqual([
      'controlPlane.url (line 4:8): ws:// (unencrypted) is allowed only on loopback; use wss://',
      'controlPlane.publicKey (line 5:14): expected an Ed25519 public key: base64 of 32 bytes',
      'controlPlane.transport (line 6:14): expected one of "auto", "websocket", "poll"',
      'links[1].id (line 11:11): duplicate link id "fiber"',
      'links[1].sourceAddress (line 11:33): expected an IPv4 or IPv6 address',
      'actions.switch-wan.args[1] (line 13:66): unknown placeholder {gatway} (known: link, fromLink, site, commandId, action, interface, gateway)',
      'actions.switch-wan.timeoutSecs (line 13:79): unknown field "timeoutSecs"',
      'checks.presets[1] (line 15:28): unknown preset "nope" (known: google-workspace, microsoft-365, ringcentral, salesforce, slack, twilio, zoom)',
      'checks.custom[0].link (line 17:24): inside-out checks run through every link: remove link',
      'autonomy.targets (line 19:3): autonomy needs at least one target to judge the links (e.g. tcp to 1.1.1.1:443)',
      'autonomy.action (line 20:11): action "restore-wan" is not configured',
    ]);
  });

  it('allows ws:// and http:// on loopback only, and needs pollUrl when url does not end in /ws', () => {
    const at = (url: string, pollUrl?: string) =>
      problems(
        minimal().replace(
          'url: wss://agents.example.com/v1/agent/ws',
          `url: ${url}${pollUrl ? `\n  pollUrl: ${pollUrl}` : ''}`,
        ),
      );
    expect(at('ws://127.0.0.1:8080/v1/agent/ws')).toEqual([]);
    expect(at('ws://[::1]:8080/v1/agent/ws')).toEqual([]);
    expect(at('ws://localhost:8080/v1/agent/ws', 'http://localhost:8080/v1/agent')).toEqual([]);
    expect(at('wss://agents.example.com/v1/agent/ws', 'http://agents.example.com/v1/agent')).toEqual([
      'controlPlane.pollUrl (line 5:12): http:// (unencrypted) is allowed only on loopback; use https://',
    ]);
    expect(at('https://agents.example.com/v1/agent/ws')).toEqual([
      'controlPlane.url (line 4:8): expected a wss:// URL such as wss://agents.example.com/v1/agent/ws',
    ]);
    expect(at('wss://gw.example.com/prod')).toEqual([
      'controlPlane.url (line 4:8): the URL does not end in /ws: set controlPlane.pollUrl as well',
    ]);
    const { config } = parseAgentConfig(
      minimal().replace('/v1/agent/ws', '/prod\n  pollUrl: https://api.example.com/v1/agent/'),
    );
    expect(config?.controlPlane.pollUrl).toBe('https://api.example.com/v1/agent');
  });

  it('refuses {gateway} when a link has none, and autonomy with one link', () => {
    const text = minimal(`actions:
  switch-wan: { command: /sbin/ip, args: [route, replace, default, via, '{gateway}'] }
autonomy:
  enabled: true
  targets: [{ id: t, tcp: { host: 1.1.1.1, port: 443 } }]
`).replace('  - { id: lte, sourceAddress: 198.51.100.20 }\n', '');
    expect(problems(text)).toEqual([
      'actions.switch-wan.args[4] (line 11:73): {gateway} is used but link(s) fiber have no gateway',
      'autonomy (line 13:3): autonomy needs at least two links',
    ]);
  });

  it('reports YAML syntax errors and an empty file with positions', () => {
    expect(problems('version: 1\nsite: [hq\n')[0]).toMatch(/^\(line \d+:\d+\): /);
    expect(problems('')).toEqual(['(line 1:1): the file is empty; expected version, site, controlPlane, ...']);
  });

  it('loadAgentConfig throws a ConfigError naming the file', async () => {
    await expect(loadAgentConfig('/nonexistent/agent.yaml')).rejects.toBeInstanceOf(ConfigError);
    const text = await readFile('examples/agent.yaml', 'utf8');
    expect(parseAgentConfig(text).diagnostics).toEqual([]);
  });
});
