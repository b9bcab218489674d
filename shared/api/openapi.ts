import * as z from 'zod/mini';
import { apiSchemas, Problem } from '../contracts/api.ts';
import { PROBLEM_CONTENT_TYPE, STATUS_TITLES } from './problem.ts';
import { API_ROUTES, problemStatuses, type ApiRouteSpec } from './routes.ts';

type Json = Record<string, unknown>;

const COMPONENTS = '#/components/schemas/';

/** The `$ref` of a component schema; throws when the schema is not one (a route would point at nothing). */
function ref(schema: z.ZodMiniType): Json {
  const id = apiSchemas.get(schema)?.id;
  if (!id)
    throw new Error('a route names a schema that is not an API component (register it in shared/contracts/api.ts)');
  return { $ref: `${COMPONENTS}${id}` };
}

/** The JSON Schema of one query or path parameter (inline; parameters are strings on the wire). */
function parameterSchema(schema: z.ZodMiniType): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json;
  return rest;
}

function parameters(spec: ApiRouteSpec): Json[] {
  const out: Json[] = [];
  for (const [where, object] of [
    ['path', spec.params],
    ['query', spec.query],
  ] as const) {
    if (!object) continue;
    for (const [name, field] of Object.entries(object.shape as Record<string, z.ZodMiniType>)) {
      const description = z.globalRegistry.get(field)?.description;
      out.push({
        name,
        in: where,
        required: where === 'path' || !field.safeParse(undefined).success,
        ...(description ? { description } : {}),
        schema: parameterSchema(field),
      });
    }
  }
  return out;
}

function operation(spec: ApiRouteSpec): Json {
  const responses: Json = {};
  for (const [status, r] of Object.entries(spec.responses)) {
    responses[status] = {
      description: r.description,
      ...(r.headers
        ? {
            headers: Object.fromEntries(
              Object.entries(r.headers).map(([name, description]) => [
                name,
                { description, schema: { type: 'string' } },
              ]),
            ),
          }
        : {}),
      ...(r.schema
        ? { content: { 'application/json': { schema: ref(r.schema) } } }
        : r.contentType
          ? { content: { [r.contentType]: { schema: { type: 'string' } } } }
          : spec.operationId === 'getOpenApi'
            ? { content: { 'application/json': { schema: { type: 'object' } } } }
            : {}),
    };
  }
  for (const status of problemStatuses(spec)) {
    responses[String(status)] = {
      description: STATUS_TITLES[status] ?? 'Error',
      content: { [PROBLEM_CONTENT_TYPE]: { schema: ref(Problem) } },
    };
  }
  const params = parameters(spec);
  return {
    operationId: spec.operationId,
    tags: [spec.tag],
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    // Routes that need no API key say so with an empty requirement; the others inherit the document's.
    ...(spec.auth === 'public' || spec.auth === 'signature' ? { security: [] } : {}),
    'x-required-scope': spec.auth,
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(spec.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: ref(spec.body) } } } }
      : spec.rawBody
        ? {
            requestBody: {
              required: true,
              description: 'As the integration sends it; its signature is checked over these exact bytes.',
              content: { '*/*': { schema: {} } },
            },
          }
        : {}),
    responses,
  };
}

function componentSchemas(): Json {
  const { schemas } = z.toJSONSchema(apiSchemas, {
    io: 'output',
    unrepresentable: 'any',
    uri: (id) => `${COMPONENTS}${id}`,
  }) as { schemas: Record<string, Json> };
  const out: Json = {};
  for (const [id, schema] of Object.entries(schemas)) {
    const { $schema: _s, $id: _i, ...rest } = schema;
    out[id] = rest;
  }
  return out;
}

export interface OpenApiOptions {
  /** The API's base URL, for `servers`. @default none (relative to where the document was fetched) */
  readonly serverUrl?: string;
}

let cached: Json | undefined;

/**
 * The OpenAPI 3.1 document of the API: paths from the route table (API_ROUTES), component schemas from the zod
 * contracts (shared/contracts/api.ts), so neither can drift from the handlers.
 */
export function openApiDocument(options: OpenApiOptions = {}): Json {
  cached ??= {
    openapi: '3.1.0',
    info: {
      title: 'failover API',
      version: '1',
      description:
        'Status, history, incidents, overrides, maintenance windows and webhooks of the failover control plane. ' +
        'Every route but /v1/openapi.json, /v1/status/... and /v1/hooks/{source} needs an API key (`Authorization: Bearer fo_...` or ' +
        '`x-api-key`); read keys may call GET routes only. Errors are RFC 9457 problem details.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    tags: [
      { name: 'sites', description: 'Site state and operator commands.' },
      { name: 'brake', description: "The mass-failover brake: its state and an operator's release." },
      { name: 'history', description: 'Outcomes and latency over time, uptime per day.' },
      {
        name: 'status',
        description: 'Public status pages and badges (no API key; only what sites.yaml makes public).',
      },
      { name: 'incidents', description: 'Incidents and their timelines.' },
      { name: 'maintenance', description: 'Maintenance windows.' },
      { name: 'webhooks', description: 'Outbound webhook subscriptions and their delivery logs.' },
      { name: 'hooks', description: 'Inbound webhooks from integrations.' },
      { name: 'meta', description: 'This document.' },
    ],
    security: [{ bearerKey: [] }, { headerKey: [] }],
    paths: paths(),
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        bearerKey: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'fo_<id>_<secret>',
          description: 'An API key made with `failover api-key create`.',
        },
        headerKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'The same key, in a header.' },
      },
    },
  };
  return options.serverUrl ? { ...cached, servers: [{ url: options.serverUrl }] } : cached;
}

function paths(): Json {
  const out: Record<string, Json> = {};
  for (const spec of API_ROUTES as readonly ApiRouteSpec[]) {
    out[spec.path] = { ...out[spec.path], [spec.method.toLowerCase()]: operation(spec) };
  }
  return out;
}
