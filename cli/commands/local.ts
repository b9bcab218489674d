import { join } from 'node:path';
import { ConsoleNotifier } from '../../shared/adapters/local/console-notifier.ts';
import { controlPlanePublicKey } from '../../shared/adapters/local/file-agent-keyring.ts';
import type { AgentLogger, LogLevel } from '../../shared/agent/log.ts';
import { loadConfig } from '../../shared/config/load.ts';
import type { Transition } from '../../shared/domain/model.ts';
import { FailoverError } from '../../shared/errors.ts';
import { createJsonLogger, logEvent, type JsonLogger } from '../../shared/observability/logger.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import type { RoundResult } from '../../shared/probes/round.ts';
import type { AgentChannelEvent } from '../../shared/usecases/agent/deps.ts';
import type { DispatchEvent } from '../../shared/usecases/dispatch.ts';
import type { DeliverOutcome } from '../../shared/usecases/webhooks/deliver-webhook.ts';
import { LiveView, siteStatus } from '../../local/live-view.ts';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime.ts';
import { buildWeb, webBuildState } from '../../local/web-build.ts';
import { CliError } from '../output.ts';

export interface LocalOptions {
  readonly config: string;
  readonly rounds?: number;
  readonly jsonLogs?: boolean;
  readonly dnsPort: number;
  readonly apiPort: number;
  readonly dataDir?: string;
  readonly alerts?: string;
}

/**
 * `failover local`: the system on this machine until interrupted (or for `--rounds` rounds per region). The first
 * SIGINT or SIGTERM stops it gracefully (actions in flight finish); a second one exits at once.
 */
export async function localCommand(opts: LocalOptions): Promise<number> {
  // Whatever this process makes is its owner's alone: dynalite's LevelDB files, logs and alerts 0600, folders 0700.
  process.umask(0o077);
  const config = await loadConfig(opts.config);
  // Keys and secrets outlive an in-memory state: API keys and agents keep working across runs.
  const secretsDir = opts.dataDir ?? '.failover';
  const alertsFile = opts.alerts ?? join(secretsDir, 'alerts.jsonl');
  const json = opts.jsonLogs === true;
  // One JSON logger (pino) for machines; the live view is for people, not a log.
  const logger = json ? createJsonLogger({ component: 'runtime' }) : undefined;
  const loggers = new Map<string, JsonLogger>();
  const emit = (
    event: string,
    fields: Record<string, unknown>,
    component = 'runtime',
    level: LogLevel = 'info',
    message = event,
  ) => {
    let child = loggers.get(component);
    if (!child) loggers.set(component, (child = logger!.child({ component })));
    logEvent(child, level, event, message, fields);
  };
  const view = json ? undefined : new LiveView({ config, out: process.stdout, err: process.stderr });
  // What the runtime says while it starts (the demo agent's first lines) waits until the header is out.
  let held: string[] | undefined = [];
  const print = (line: string) => (held ? held.push(line) : view!.print(line));
  const paint = (color: Parameters<LiveView['paint']>[0], text: string) => view!.paint(color, text);
  const notifier = new ConsoleNotifier({
    jsonlPath: alertsFile,
    out: json ? (line: string) => emit('alert', { line }, 'alerts', 'warn', line) : print,
    color: process.stdout.isTTY === true && !process.env.NO_COLOR && !json,
  });

  // The dashboard is built by `npm install`; after an edit of web/ (or without the build) it is built here, once.
  const webState = webBuildState();
  let webNote: string | undefined;
  if (webState !== 'fresh') {
    try {
      const built = await buildWeb();
      webNote = `  dashboard ${webState === 'missing' ? 'built' : 'rebuilt (web/ changed)'} in ${built.ms} ms`;
    } catch (error) {
      webNote = `  dashboard not built (${error instanceof Error ? error.message.split('\n')[0] : String(error)}): npm run build:web`;
    }
  }

  let runtime: LocalRuntime | undefined;
  const refresh = (site: string) => {
    const store = runtime?.control?.store;
    const primary = config.sites.find((s) => s.id === site)?.primary.id;
    if (!view || !store || !primary) return;
    store
      .load(site)
      .then((state) => view.site(site, siteStatus(state, primary)))
      .catch(() => undefined);
  };
  const onError = (error: unknown, where: string) => {
    const line = `failover local: ${where}: ${error instanceof Error ? error.message : String(error)}`;
    if (view) view.print(line, 'err');
    else emit('error', { where }, 'runtime', 'error', line);
  };
  const agentLog: AgentLogger = {
    log: (level, event, message, fields = {}) => {
      if (json) return emit(event, fields, 'demo-agent', level, message);
      if (level === 'debug') return;
      const site = typeof fields.site === 'string' ? fields.site : undefined;
      const color = level === 'error' ? 'red' : level === 'warn' ? 'yellow' : 'dim';
      print(paint(color, `    demo agent${site ? ` (site ${site})` : ''}: ${message}`));
    },
  };

  try {
    runtime = await startLocalRuntime({
      config,
      configFile: opts.config,
      clock: systemClock,
      ...(opts.rounds !== undefined ? { rounds: opts.rounds } : {}),
      onRound: (round) => (view ? view.round(round) : logRound(round, emit)),
      onError,
      demoAgentLog: agentLog,
      control: {
        notifier,
        dnsPort: opts.dnsPort,
        apiPort: opts.apiPort,
        secretsDir,
        ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
        onTransition: (t) => {
          if (json) return emit('transition', { ...t }, 'decider', 'warn', t.explanation.summary);
          printTransition(t, print, paint);
          refresh(t.site);
        },
        onDispatch: (e) =>
          json
            ? emit('dispatch', dispatchFields(e), 'dispatcher', e.type === 'dead-letter' ? 'error' : 'info')
            : printDispatch(e, print, paint),
        onAgentEvent: (e) => (json ? emit('agent', { ...e }, 'agent-channel') : printAgentEvent(e, print, paint)),
        onWebhook: (outcome, ticket) =>
          json
            ? emit('webhook', { ...ticket, outcome: outcome.type }, 'webhooks')
            : printWebhook(outcome, print, paint),
      },
    });
  } catch (error) {
    throw portHint(error, opts);
  }
  const control = runtime.control!;
  const log = (message: string) =>
    json ? emit('runtime', {}, 'runtime', 'info', message) : view!.print(paint('dim', message));
  log(`failover local: ${opts.config}: ${config.sites.length} site(s), regions ${config.regions.probe.join(', ')}`);
  for (const t of runtime.targets) log(`  demo target ${t.id} (${t.kind}) on ${t.host}:${t.port}`);
  const dns = control.dns;
  const example = config.sites.flatMap((s) => s.dns)[0]?.name;
  if (dns && example)
    log(`  DNS server on ${dns.host}:${dns.port} (udp and tcp): dig @${dns.host} -p ${dns.port} ${example}`);
  else log('  no DNS records in the configuration: no DNS server');
  log(`  HTTP API on ${control.api.url}/v1 (keys: failover api-key create --data-dir ${secretsDir} ...)`);
  log(
    `  metrics on ${control.api.url}/metrics, health on /healthz and /readyz (no key: the API port listens on 127.0.0.1 only)`,
  );
  const wsUrl = `${control.api.url.replace(/^http/, 'ws')}/v1/agent/ws`;
  if (config.sites.some((s) => s.agent))
    log(`  agents: ${wsUrl}, control plane key ${await controlPlanePublicKey(control.keys)}`);
  for (const a of runtime.agents)
    log(`  demo agent for site ${a.site} (in process): its switch script appends to ${a.switchLog}`);
  if (webNote) log(webNote);
  const demo = runtime.demoApiKey;
  if (runtime.web.problem) log(`  dashboard: ${runtime.web.problem}`);
  // The key rides in the fragment, which the browser never sends: it stays out of every server and proxy log.
  else if (demo && !json) log(`  dashboard: ${control.api.url}/#key=${encodeURIComponent(demo.key)}`);
  else log(`  dashboard: ${control.api.url}/ (asks for an API key)`);
  if (demo) {
    const port = control.api.port === 8080 ? '' : ` --api-port ${control.api.port}`;
    const dir = secretsDir === '.failover' ? '' : ` --data-dir ${secretsDir}`;
    log(`  faults: node bin/failover.js demo break|heal primary|backup|region:NAME|voip-loss:PCT${port}${dir}`);
    log(`  demo API key (write) in ${demo.file}: curl -H "Authorization: Bearer $(cat ${demo.file})" ...`);
  }
  log(
    `  state ${opts.dataDir ? `in ${opts.dataDir}` : 'in memory (--data-dir to keep it)'}; alerts also in ${alertsFile}`,
  );
  const intervals = [...new Set(config.sites.map((s) => s.policy.intervalSeconds))].join('/');
  log(`  rounds every ${intervals} s, regions staggered within the interval; Ctrl-C to stop`);
  for (const line of held ?? []) view?.print(line);
  held = undefined;
  if (json)
    emit('ready', {
      dns: dns ? { host: dns.host, port: dns.port } : null,
      api: control.api.url,
      dashboard: `${control.api.url}/`,
      agentUrl: wsUrl,
      demoApiKeyFile: demo?.file ?? null,
      agents: runtime.agents.map((a) => ({ site: a.site, switchLog: a.switchLog })),
      alerts: alertsFile,
      dataDir: opts.dataDir ?? null,
    });
  for (const site of config.sites) refresh(site.id);

  const started = runtime;
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      log(`failover local: ${signal} again: exiting now, without waiting for the actions in flight`);
      // Dying of the signal itself: process.exit() would wait for a worker thread stuck in a file write.
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.kill(process.pid, signal);
      return;
    }
    log(`failover local: ${signal}: stopping (actions in flight finish first; ${signal} again to exit at once)`);
    void started.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await started.done;
    await started.stop();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    view?.close();
  }
  log('failover local: stopped');
  return 0;
}

/** A port that is taken: the message names the option that changes it. */
function portHint(error: unknown, opts: LocalOptions): unknown {
  if (!(error instanceof FailoverError)) return error;
  const busy = '(is another `failover local` running?); stop it or pass';
  if (error.code === 'DNS_PORT_IN_USE')
    return new CliError(`DNS port ${opts.dnsPort} is in use ${busy} --dns-port N (0 picks a free port)`);
  if (error.code === 'PORT_IN_USE')
    return new CliError(`API port ${opts.apiPort} is in use ${busy} --api-port N (0 picks a free port)`);
  return error;
}

type Print = (line: string) => void;
type Paint = (color: 'red' | 'green' | 'yellow' | 'dim' | 'bold', text: string) => string;

function printTransition(t: Transition, print: Print, paint: Paint): void {
  const time = new Date(t.at).toISOString().slice(11, 19);
  const move = t.fromLink === t.toLink ? `on ${t.toLink}` : `${t.fromLink} -> ${t.toLink}`;
  const head = `${time} ${t.site} ${t.kind.toUpperCase()} ${move}${t.suppressed ? ' (alerts suppressed)' : ''}`;
  const color = t.kind === 'failover' || t.kind === 'both-down' || t.kind === 'action-failed' ? 'red' : 'yellow';
  print(paint(color, head));
  print(`    ${t.explanation.summary}`);
}

function dispatchFields(e: DispatchEvent): Record<string, unknown> {
  const { action, ...rest } = e;
  return { ...rest, action: { id: action.id, kind: action.kind, site: action.site } };
}

function printDispatch(e: DispatchEvent, print: Print, paint: Paint): void {
  const a = e.action;
  const what =
    a.kind === 'dns'
      ? `DNS ${a.name} ${a.type} -> ${a.values.join(', ')}`
      : a.kind === 'agent-command'
        ? `agent ${a.command} ${a.link}`
        : a.kind === 'alert'
          ? `alert ${a.dedupKey}`
          : a.kind === 'webhook'
            ? `webhook ${a.event}`
            : a.kind;
  // Webhook events nobody subscribed to are not worth a line.
  if (e.type === 'applied' && !(a.kind === 'webhook' && e.detail.endsWith('no subscription wants it')))
    print(`    ${what}: ${e.detail}`);
  else if (e.type === 'skipped' && a.kind !== 'webhook') print(paint('dim', `    ${what}: skipped, ${e.reason}`));
  else if (e.type === 'retry')
    print(paint('yellow', `    ${what}: attempt ${e.attempt} failed (${e.error}); retrying`));
  else if (e.type === 'dead-letter')
    print(paint('red', `    ${what}: gave up after ${e.attempts} attempts: ${e.error}`));
}

function printAgentEvent(e: AgentChannelEvent, print: Print, paint: Paint): void {
  // The dispatcher's own line says when a command was handed to the agent.
  if (['heartbeat', 'observations', 'command-queued', 'command-delivered'].includes(e.type)) return;
  if (e.type === 'auth-accepted') return print(paint('dim', `    agent ${e.site} connected`));
  if (e.type === 'command-acked') {
    const color = e.status === 'succeeded' ? 'green' : 'red';
    return print(paint(color, `    agent ${e.site} acked ${e.id}: ${e.detail || e.status}`));
  }
  const { type, site, ...rest } = e;
  const detail = Object.values(rest).join(' ');
  const bad = type === 'auth-refused' || type === 'command-expired' || type === 'message-refused';
  print(paint(bad ? 'red' : 'dim', `    agent ${site ?? '?'} ${type} ${detail}`));
}

function printWebhook(outcome: DeliverOutcome, print: Print, paint: Paint): void {
  if (outcome.type !== 'attempted') return;
  const { delivery, attempt } = outcome;
  const status = `${attempt.outcome} ${attempt.status ?? attempt.error ?? ''}`.trim();
  print(paint('dim', `    webhook ${delivery.event} -> ${delivery.subscriptionId}: ${status} (${delivery.status})`));
}

type Emit = (
  event: string,
  fields: Record<string, unknown>,
  component?: string,
  level?: LogLevel,
  message?: string,
) => void;

function logRound(round: RoundResult, emit: Emit): void {
  for (const o of round.observations)
    emit('observation', { ...o }, 'probe', 'info', `${o.vantage} ${o.check}: ${o.detail}`);
  const { observations: _, ...summary } = round;
  emit('round', summary, 'probe', 'info', `${round.vantage} round ${round.roundId}`);
}
