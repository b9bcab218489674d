import { readFile } from 'node:fs/promises';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { ConfigError, formatPath, type Diagnostic } from '../errors.ts';
import type { FailoverConfig } from './model.ts';
import { validateDocument, type Problem } from './validate.ts';

// Where they always were for their callers; they live in errors.ts so that printing one loads no YAML parser.
export { formatDiagnostic, formatPath } from '../errors.ts';
export { schemaProblems, type Problem } from './validate.ts';

/** The outcome of reading a configuration: the resolved config when there is no problem, and every problem found. */
export interface ParseResult {
  readonly config: FailoverConfig | undefined;
  readonly diagnostics: readonly Diagnostic[];
}

/** Reads and validates a sites.yaml; throws ConfigError listing every problem. */
export async function loadConfig(file: string): Promise<FailoverConfig> {
  return loadYamlFile(file, parseConfig);
}

/** Reads a YAML file and parses it with `parse`; an unreadable file or any problem is a ConfigError naming the file. */
export async function loadYamlFile<T>(
  file: string,
  parse: (text: string) => { readonly config: T | undefined; readonly diagnostics: readonly Diagnostic[] },
): Promise<T> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new ConfigError([{ path: [], message: `cannot read ${file}: ${reason}` }], file);
  }
  const { config, diagnostics } = parse(text);
  if (!config) throw new ConfigError(diagnostics, file);
  return config;
}

/** Validates a sites.yaml document: YAML syntax, the schema, then cross-references, all problems at once. */
export function parseConfig(text: string): ParseResult {
  const { config, diagnostics } = parseConfigDocument(text);
  return { config, diagnostics };
}

/**
 * Validates a sites.yaml like {@link parseConfig} and returns the document as the JSON text the Lambda bundles
 * inline (read back by `parseConfigJson`, which needs no YAML parser); throws ConfigError listing every problem.
 */
export function configJsonOf(text: string, file?: string): { config: FailoverConfig; json: string } {
  const { config, diagnostics, document } = parseConfigDocument(text);
  if (!config) throw new ConfigError(diagnostics, file);
  return { config, json: JSON.stringify(document) };
}

function parseConfigDocument(text: string): ParseResult & { document?: unknown } {
  const { doc, lineCounter, diagnostics: syntax } = parseYaml(text);
  if (syntax.length > 0) return { config: undefined, diagnostics: syntax };
  let document: unknown;
  try {
    document = doc.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    // An alias used before its anchor, or one expanding past the limit: found only when the document is built.
    return { config: undefined, diagnostics: [{ path: [], message: (error as Error).message, line: 1, column: 1 }] };
  }
  if (document === null || document === undefined) {
    return {
      config: undefined,
      diagnostics: [
        { path: [], message: 'the file is empty; expected version, regions and sites', line: 1, column: 1 },
      ],
    };
  }
  const { config, problems } = validateDocument(document);
  if (!config) return { config: undefined, diagnostics: locateProblems(doc, lineCounter, problems) };
  return { config, diagnostics: [], document };
}

/** Parses YAML keeping positions; `diagnostics` lists its syntax errors, and when there are any the document is unusable. */
export function parseYaml(text: string): { doc: Document; lineCounter: LineCounter; diagnostics: Diagnostic[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const diagnostics = doc.errors.map((e) => ({
    path: [],
    message: (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, ''),
    line: e.linePos?.[0].line,
    column: e.linePos?.[0].col,
  }));
  return { doc, lineCounter, diagnostics };
}

/** Problems with their line and column in `doc`, duplicates dropped, in document order. */
export function locateProblems(doc: Document, lc: LineCounter, problems: readonly Problem[]): Diagnostic[] {
  const seen = new Set<string>();
  return problems
    .map((p) => ({ ...p, ...locate(doc, lc, p.path, p.atKey ?? false) }))
    .filter((d) => {
      const key = `${formatPath(d.path)}|${d.message}`;
      return seen.has(key) ? false : (seen.add(key), true);
    })
    .sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0))
    .map(({ path, message, line, column }) => ({ path, message, line, column }));
}

/** Line and column of the node at `path`, or of its nearest existing ancestor (e.g. for a missing field). */
function locate(
  doc: Document,
  lc: LineCounter,
  path: readonly (string | number)[],
  atKey: boolean,
): { line?: number; column?: number } {
  let node: unknown = doc.contents;
  let offset: number | undefined = rangeStart(node);
  for (const [index, segment] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) break;
      const keyWanted = atKey && index === path.length - 1;
      node = pair.value;
      offset = (keyWanted ? rangeStart(pair.key) : rangeStart(pair.value)) ?? rangeStart(pair.key) ?? offset;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (item === undefined) break;
      node = item;
      offset = rangeStart(item) ?? offset;
    } else {
      break;
    }
  }
  if (offset === undefined) return {};
  const pos = lc.linePos(offset);
  return { line: pos.line, column: pos.col };
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
  return range?.[0];
}
