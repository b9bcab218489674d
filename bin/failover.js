#!/usr/bin/env node
// Runs the TypeScript CLI directly through tsx's loader: no build step between an edit and `npx failover`.
import { register } from 'tsx/esm/api';

// Node 20 is supported here on purpose; the SDK's notice about its future releases is noise on every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
await import('../cli/main.ts');
