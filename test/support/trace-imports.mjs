// `node --import ./test/support/trace-imports.mjs ...`: appends the URL of every module the program resolves to the
// file named by TRACE_IMPORTS, one a line (resolve hooks run on their own thread; a sync append keeps each line).
import { register } from 'node:module';
import { URL } from 'node:url';

register(new URL('./trace-imports-hooks.mjs', import.meta.url), { data: { file: process.env.TRACE_IMPORTS } });
