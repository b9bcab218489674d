#!/usr/bin/env node
// Runs the compiled CLI (dist/cli, built by `npm install` or `npm run build:cli`) when it is at least as new as
// every source file it was built from; otherwise the TypeScript sources through tsx, so an edit needs no build step.
import { compiledCli } from './compiled-cli.js';

// Node 20 is supported here on purpose; the SDK's notice about its future releases is noise on every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const entry = process.env.FAILOVER_CLI_FROM_SOURCE ? undefined : compiledCli();
if (entry) {
  await import(entry);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
