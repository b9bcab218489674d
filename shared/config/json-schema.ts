import * as z from 'zod';
import { SitesConfig } from './schema.ts';

/** The JSON Schema of sites.yaml as written by people (defaults optional), for editors' YAML support. */
export function sitesJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(SitesConfig, { io: 'input', unrepresentable: 'any' }),
    title: 'failover sites.yaml',
  };
}
