import { buildWeb } from '../local/web-build.ts';

const out = await buildWeb();
console.log(`${out.dir}: the dashboard and status page, ${out.files.length} files in ${out.ms} ms`);
