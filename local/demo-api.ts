import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as z from 'zod/mini';
import '../shared/contracts/zod-english.ts';
import { issueApiKey, verifyApiKey, type ApiKeyDeps } from '../shared/api/api-keys.ts';
import { HttpProblem } from '../shared/api/problem.ts';
import { assertPrivateFile } from '../shared/secret-file.ts';
import type { ApiRouteSpec } from '../shared/api/routes.ts';
import type { ApiDeps } from '../functions/api/deps.ts';
import { apiHandler } from '../functions/api/middleware.ts';
import { UnknownFaultError, type DemoFaults } from './demo-faults.ts';
import { invokeLocally, type HttpRoute } from '../shared/api/http-route.ts';

/** The file in the secrets directory that holds the demo's write API key (mode 0600), read by `failover demo`. */
export const DEMO_API_KEY_FILE = 'demo-api-key';

const FaultPath = z.object({ fault: z.string() });
const FaultBody = z.strictObject({ fault: z.string().check(z.minLength(1), z.maxLength(100)) });

/** The demo-only routes: not in API_ROUTES (nor the OpenAPI document), mounted only when demo targets exist. */
export const DEMO_ROUTES = {
  list: {
    operationId: 'listDemoFaults',
    method: 'GET',
    path: '/v1/demo/faults',
    tag: 'meta',
    summary: 'The demo faults in force, and every fault that can be injected',
    auth: 'read',
    responses: { 200: { description: 'Active and valid faults.' } },
  },
  inject: {
    operationId: 'injectDemoFault',
    method: 'POST',
    path: '/v1/demo/faults',
    tag: 'meta',
    summary: 'Break a demo target, cut a probe region off, or add loss on the voice path',
    auth: 'write',
    body: FaultBody,
    responses: { 200: { description: 'The fault, and every fault now in force.' } },
  },
  heal: {
    operationId: 'healDemoFault',
    method: 'DELETE',
    path: '/v1/demo/faults/{fault}',
    tag: 'meta',
    summary: 'Heal a demo fault (`all`: every one)',
    auth: 'write',
    params: FaultPath,
    responses: { 200: { description: 'What was healed, and every fault still in force.' } },
  },
} as const satisfies Record<string, ApiRouteSpec>;

/**
 * `GET /v1/demo/faults`, `POST /v1/demo/faults` (`{"fault": "primary"}`) and `DELETE /v1/demo/faults/{fault}`,
 * behind the API's own middleware chain: API keys (write to change), validation, problem details. An unknown fault
 * is a 400 `unknown-fault` listing the valid ones.
 */
export function demoFaultRoutes(faults: DemoFaults, api: ApiDeps): HttpRoute[] {
  const unknown = (error: unknown, path: string): never => {
    if (error instanceof UnknownFaultError)
      throw new HttpProblem(400, error.message, { code: 'unknown-fault', errors: [{ path, message: error.message }] });
    throw error;
  };
  const handlers = [
    [
      DEMO_ROUTES.list,
      apiHandler(DEMO_ROUTES.list, api, async () => ({
        status: 200,
        body: { active: faults.active(), valid: faults.valid() },
      })),
    ],
    [
      DEMO_ROUTES.inject,
      apiHandler(DEMO_ROUTES.inject, api, async ({ body }) => {
        try {
          const fault = faults.inject(body.fault);
          return { status: 200, body: { fault, active: faults.active() } };
        } catch (error) {
          return unknown(error, 'body.fault');
        }
      }),
    ],
    [
      DEMO_ROUTES.heal,
      apiHandler(DEMO_ROUTES.heal, api, async ({ params }) => {
        try {
          return { status: 200, body: { healed: faults.heal(params.fault), active: faults.active() } };
        } catch (error) {
          return unknown(error, 'path.fault');
        }
      }),
    ],
  ] as const;
  return handlers.map(([spec, handler]) => ({
    method: spec.method,
    path: spec.path,
    handler: (event) => invokeLocally(handler, event, 'failover-demo'),
  }));
}

/**
 * The demo's write API key in `<secretsDir>/demo-api-key` (mode 0600): the key already there when it still verifies,
 * otherwise a new one (named `demo`), written atomically. Returns the key and its file.
 */
export async function ensureDemoApiKey(deps: ApiKeyDeps, secretsDir: string): Promise<{ key: string; file: string }> {
  const file = join(secretsDir, DEMO_API_KEY_FILE);
  const existing = (await assertPrivateFile(file, 'the demo API key')) ? (await readFile(file, 'utf8')).trim() : '';
  if (existing) {
    const record = await verifyApiKey(deps, existing);
    if (record?.scope === 'write') return { key: existing, file };
  }
  const { key } = await issueApiKey(deps, { name: 'demo', scope: 'write' });
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.chmod(0o600);
    await handle.writeFile(`${key}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
  return { key, file };
}
