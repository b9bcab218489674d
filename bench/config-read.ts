// bench:fleet's measure of the configuration alone: built like a handler and imported cold beside a bundled
// configuration file, it reads the file as the handlers do (shared/config/bundled.ts) and, by BENCH_CONFIG_READ,
// `index` (what a handler reading its sites when first used does at cold start), `every-site` (the same, then every
// site used once: what its first invocation pays when it reads them all) or `eager` (the probe's way, whole).
import { readFileSync } from 'node:fs';
import { readBundledConfig } from '../shared/config/bundled.ts';

const mode = process.env.BENCH_CONFIG_READ ?? 'index';
const read = readBundledConfig(readFileSync(new URL('failover-config.json', import.meta.url)), {
  read: mode === 'eager' ? 'eager' : 'lazy',
});
if (!('config' in read)) throw new Error(read.problem);
if (mode === 'every-site') for (const site of read.config.sites) if (site.checks.length < 0) throw new Error('never');
