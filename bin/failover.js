#!/usr/bin/env node
// Runs the TypeScript CLI directly through tsx's loader: no build step between an edit and `npx failover`.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
