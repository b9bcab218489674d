import { readFile } from 'node:fs/promises';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type * as z from 'zod';
import { ConfigError, formatPath, type Diagnostic } from '../errors.ts';
import { messageFor } from './messages.ts';

// The one path from a YAML document to a validated value with located problems: sites.yaml, agent.yaml, scenarios.

type Path = (string | number)[];

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

/** A document's data, and how to place problems found in it at their line and column. */
export type YamlDocument =
  | { readonly ok: false; readonly diagnostics: Diagnostic[] }
  | { readonly ok: true; readonly data: unknown; readonly locate: (problems: readonly Problem[]) => Diagnostic[] };

/**
 * Reads a YAML document: syntax errors, an alias that cannot be built (used before its anchor, or expanding past
 * the limit) and an empty document (`empty` is the message) are diagnostics; otherwise its data.
 */
export function readYamlDocument(text: string, empty: string): YamlDocument {
  const { doc, lineCounter, diagnostics } = parseYaml(text);
  if (diagnostics.length > 0) return { ok: false, diagnostics };
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    return { ok: false, diagnostics: [{ path: [], message: (error as Error).message, line: 1, column: 1 }] };
  }
  if (data === null || data === undefined)
    return { ok: false, diagnostics: [{ path: [], message: empty, line: 1, column: 1 }] };
  return { ok: true, data, locate: (problems) => locateProblems(doc, lineCounter, problems) };
}

/** The schema's problems with `data` (messages from messages.ts), then those of `rules`: all of them at once. */
export function validateData<S extends z.ZodType>(
  schema: S,
  data: unknown,
  rules?: (data: unknown) => readonly Problem[],
): { parsed: z.ZodSafeParseResult<z.output<S>>; problems: Problem[] } {
  const parsed = schema.safeParse(data, { error: messageFor });
  const problems = parsed.success ? [] : schemaProblems(parsed.error.issues);
  problems.push(...(rules?.(data) ?? []));
  return { parsed, problems };
}

/** A YAML document validated by `schema` and `rules`, then resolved; or every problem, located. */
export function parseYamlWith<S extends z.ZodType, T>(
  text: string,
  options: {
    readonly schema: S;
    readonly empty: string;
    readonly rules?: (data: unknown) => readonly Problem[];
    readonly resolve: (value: z.output<S>) => T;
  },
): { readonly config: T | undefined; readonly diagnostics: readonly Diagnostic[] } {
  const read = readYamlDocument(text, options.empty);
  if (!read.ok) return { config: undefined, diagnostics: read.diagnostics };
  const { parsed, problems } = validateData(options.schema, read.data, options.rules);
  if (problems.length > 0 || !parsed.success) return { config: undefined, diagnostics: read.locate(problems) };
  return { config: options.resolve(parsed.data), diagnostics: [] };
}

/** A problem found in a document, before it is located: `atKey` points at the key rather than its value. */
export interface Problem {
  readonly path: Path;
  readonly message: string;
  readonly atKey?: boolean;
}

/** Parses YAML keeping positions; `diagnostics` lists its syntax errors, and when there are any the document is unusable. */
function parseYaml(text: string): { doc: Document; lineCounter: LineCounter; diagnostics: Diagnostic[] } {
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

/** Zod issues as problems; an unknown field is reported at its key. */
export function schemaProblems(issues: readonly z.core.$ZodIssue[]): Problem[] {
  return issues.flatMap((issue): Problem[] => {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys')
      return issue.keys.map((key) => ({ path: [...path, key], message: `unknown field "${key}"`, atKey: true }));
    return [{ path, message: issue.message }];
  });
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
