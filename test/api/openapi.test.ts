import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../shared/api/openapi.ts';
import { API_ROUTES, problemStatuses, type ApiRouteSpec } from '../../shared/api/routes.ts';

type Json = Record<string, unknown>;
const doc = openApiDocument() as Json & {
  paths: Record<string, Record<string, Json>>;
  components: { schemas: Record<string, Json>; securitySchemes: Record<string, Json> };
};
const routes = API_ROUTES as readonly ApiRouteSpec[];
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Every `$ref` anywhere under `value`. */
function refs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => refs(v, out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refs(v, out);
    }
  }
  return out;
}

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 with the required top-level fields', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect(doc.jsonSchemaDialect).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['bearerKey', 'headerKey']);
  });

  it('has exactly the routes of the route table, no more and no fewer', () => {
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((k) => METHODS.includes(k))
        .map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
    const ids = routes.map((r) => r.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('describes each operation: id, path parameters, body, every response and problem status, security', () => {
    for (const spec of routes) {
      const op = doc.paths[spec.path]![spec.method.toLowerCase()]! as Json & {
        parameters?: { name: string; in: string; required: boolean }[];
        responses: Record<string, { content?: Record<string, unknown> }>;
      };
      expect(op.operationId).toBe(spec.operationId);
      const templated = [...spec.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      const pathParams = (op.parameters ?? []).filter((p) => p.in === 'path');
      expect(pathParams.map((p) => p.name).sort(), spec.path).toEqual(templated);
      expect(pathParams.every((p) => p.required)).toBe(true);
      expect(Object.keys(op.responses).map(Number).sort()).toEqual(
        [...Object.keys(spec.responses).map(Number), ...problemStatuses(spec)].sort(),
      );
      for (const status of problemStatuses(spec)) {
        expect(op.responses[status]!.content).toEqual({
          'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
        });
      }
      if (spec.body) expect(op.requestBody).toMatchObject({ required: true, content: { 'application/json': {} } });
      if (spec.auth === 'public' || spec.auth === 'signature') expect(op.security).toEqual([]);
      else expect(op.security).toBeUndefined();
    }
    expect(doc.security).toEqual([{ bearerKey: [] }, { headerKey: [] }]);
  });

  it('resolves every $ref to a component schema, and components carry no $schema or $id', () => {
    const all = refs(doc);
    expect(all.length).toBeGreaterThan(20);
    for (const ref of all) {
      expect(ref).toMatch(/^#\/components\/schemas\/[A-Za-z]+$/);
      expect(doc.components.schemas[ref.split('/').at(-1)!], ref).toBeDefined();
    }
    for (const [id, schema] of Object.entries(doc.components.schemas)) {
      expect(schema.$schema, id).toBeUndefined();
      expect(schema.$id, id).toBeUndefined();
    }
  });

  it('documents the query parameters of the incident list with their types', () => {
    const params = (doc.paths['/v1/incidents']!.get! as { parameters: Json[] }).parameters;
    expect(params.map((p) => p.name)).toEqual(['site', 'status', 'since', 'limit', 'cursor']);
    expect(params.find((p) => p.name === 'limit')).toMatchObject({
      in: 'query',
      required: false,
      schema: { type: 'integer', minimum: 1, maximum: 200 },
    });
    expect(params.find((p) => p.name === 'status')).toMatchObject({ schema: { enum: ['open', 'resolved'] } });
  });

  it('documents history, uptime and the public status routes: their parameters, schemas, media types', () => {
    const history = doc.paths['/v1/sites/{id}/checks/{check}/history']!.get! as Json & { parameters: Json[] };
    expect(history.parameters.map((p) => [p.name, p.in])).toEqual([
      ['id', 'path'],
      ['check', 'path'],
      ['step', 'query'],
      ['from', 'query'],
      ['to', 'query'],
    ]);
    expect(history.parameters.find((p) => p.name === 'step')).toMatchObject({ schema: { enum: ['5m', '1h', '1d'] } });
    expect(history).toMatchObject({
      tags: ['history'],
      'x-required-scope': 'read',
      responses: {
        200: { content: { 'application/json': { schema: { $ref: '#/components/schemas/CheckHistory' } } } },
      },
    });
    const uptime = doc.paths['/v1/sites/{id}/uptime']!.get! as Json & { parameters: Json[] };
    expect(uptime.parameters.find((p) => p.name === 'days')).toMatchObject({
      schema: { type: 'integer', minimum: 1, maximum: 365 },
    });
    const page = doc.paths['/v1/status/{page}']!.get! as Json;
    expect(page).toMatchObject({
      security: [],
      'x-required-scope': 'public',
      responses: { 200: { content: { 'application/json': { schema: { $ref: '#/components/schemas/StatusPage' } } } } },
    });
    const badge = doc.paths['/v1/status/{page}/badge.svg']!.get! as Json & {
      responses: Record<string, Json>;
    };
    expect(badge.security).toEqual([]);
    expect(badge.responses['200']).toMatchObject({
      content: { 'image/svg+xml': { schema: { type: 'string' } } },
      headers: { 'cache-control': expect.any(Object) },
    });
    expect(Object.keys(badge.responses).sort()).toEqual(['200', '400', '404', '500', '503']);
    const bucket = doc.components.schemas.HistoryBucket as { required: string[] };
    expect(bucket.required.sort()).toEqual(['start', 'up', 'degraded', 'down', 'skipped', 'uptime', 'latency'].sort());
  });
});
