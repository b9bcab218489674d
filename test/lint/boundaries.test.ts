import { join } from 'node:path';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

// The project's own eslint.config.js, run on snippets placed (in memory only) at paths inside the tree.
const root = join(import.meta.dirname, '..', '..');
let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({ cwd: root });
});

async function importErrors(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, path) });
  return result!.messages.filter((m) => m.ruleId?.startsWith('import-x/')).map((m) => `${m.ruleId}: ${m.message}`);
}

describe('import boundaries (npm run lint)', () => {
  it('refuses shared/ code that imports an entry point', async () => {
    const errors = await importErrors(
      'shared/api/boundary-probe.ts',
      "import { apiRoutes } from '../../functions/api/routes.ts';\nexport const routes = apiRoutes;\n",
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^import-x\/no-restricted-paths: .*functions\/api\/routes\.ts/);
  });

  it('refuses a lower layer importing a higher one, type-only imports included', async () => {
    const errors = await importErrors(
      'shared/contracts/boundary-probe.ts',
      "import type { SiteState } from '../domain/model.ts';\nexport type State = SiteState;\n",
    );
    expect(errors).toEqual([expect.stringMatching(/contracts and config may not import from a layer above it/)]);
  });

  it('refuses functions/ importing local/', async () => {
    const errors = await importErrors(
      'functions/api/boundary-probe.ts',
      "import { startHttpServer } from '../../local/http-server.ts';\nexport const start = startHttpServer;\n",
    );
    expect(errors).toEqual([expect.stringMatching(/entry points import each other only downwards/)]);
  });

  it('lets web/ take types from shared/contracts and nothing else from the server side', async () => {
    const [result] = await eslint.lintText(
      [
        "import type { SiteDetail } from '../../shared/contracts/api.ts';",
        "import { SiteId } from '../../shared/contracts/api.ts';",
        "import { packageRoot } from '../../shared/package-root.ts';",
        "import { startLocalRuntime } from '../../local/runtime.ts';",
        'export type Detail = SiteDetail;',
        'export const all = [SiteId, packageRoot, startLocalRuntime];',
      ].join('\n') + '\n',
      { filePath: join(root, 'web/src/boundary-probe.ts') },
    );
    const lines = result!.messages.map((m) => `${m.line} ${m.ruleId}`);
    expect(lines).toEqual([
      '2 @typescript-eslint/no-restricted-imports',
      '3 @typescript-eslint/no-restricted-imports',
      '4 import-x/no-restricted-paths',
    ]);
  });

  it('refuses server code importing web/', async () => {
    const errors = await importErrors(
      'local/boundary-probe.ts',
      "import { h } from '../web/src/dom.ts';\nexport const make = h;\n",
    );
    expect(errors).toEqual([expect.stringMatching(/entry points import each other only downwards/)]);
  });

  it('refuses an import cycle', async () => {
    // run.ts imports summarize from summary.ts; a summary.ts that imported run.ts back would close the loop.
    const errors = await importErrors(
      'shared/simulator/summary.ts',
      "import { simulate } from './run.ts';\nexport const again = simulate;\n",
    );
    expect(errors).toEqual([expect.stringMatching(/^import-x\/no-cycle:/)]);
  });

  it('lets a layer import the ones below it', async () => {
    const errors = await importErrors(
      'shared/usecases/boundary-probe.ts',
      [
        "import type { Clock } from '../ports/clock.ts';",
        "import type { SiteState } from '../domain/model.ts';",
        "import { TRANSITION_KINDS } from '../contracts/vocabulary.ts';",
        'export type Both = [Clock, SiteState];',
        'export const kinds = TRANSITION_KINDS;',
      ].join('\n') + '\n',
    );
    expect(errors).toEqual([]);
  });
});
