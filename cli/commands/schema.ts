import { sitesJsonSchema } from '../../shared/config/json-schema.ts';

/** `failover schema`: the JSON Schema of sites.yaml on stdout. */
export function schemaCommand(): void {
  process.stdout.write(`${JSON.stringify(sitesJsonSchema(), null, 2)}\n`);
}
