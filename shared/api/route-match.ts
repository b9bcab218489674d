/** A route as API Gateway matches it: a method and a path template such as `/v1/sites/{id}`. */
export interface RoutePattern {
  readonly method: string;
  readonly path: string;
}

/** A request matched to a route, with the path parameters (percent-decoded) it captured. */
export interface RouteMatch<R extends RoutePattern> {
  readonly route: R;
  readonly params: Record<string, string>;
}

/** What {@link findRoute} found: a route, or the methods the path allows (empty: no route has that path). */
export type RouteLookup<R extends RoutePattern> =
  { readonly found: RouteMatch<R> } | { readonly found: null; readonly allowed: readonly string[] };

const PARAM = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

/** The parameters `rawPath` gives the template `pattern`, or null when it does not match. */
export function matchPath(pattern: string, rawPath: string): Record<string, string> | null {
  const want = pattern.split('/');
  const have = rawPath.split('/');
  if (want.length !== have.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const name = PARAM.exec(want[i]!)?.[1];
    if (name === undefined) {
      if (want[i] !== have[i]) return null;
      continue;
    }
    if (have[i] === '') return null;
    try {
      params[name] = decodeURIComponent(have[i]!);
    } catch {
      return null;
    }
  }
  return params;
}

/** Literal segments before parameters, like API Gateway's "most specific route wins". */
function specificity(path: string): string {
  return path
    .split('/')
    .map((s) => (PARAM.test(s) ? '0' : '1'))
    .join('');
}

/**
 * The route for `method` and `rawPath` (the most specific when several templates match), or, when none has that
 * method, the methods routes of that path allow (for a 405 and its Allow header).
 */
export function findRoute<R extends RoutePattern>(
  routes: readonly R[],
  method: string,
  rawPath: string,
): RouteLookup<R> {
  const matches = routes
    .map((route) => ({ route, params: matchPath(route.path, rawPath) }))
    .filter((m): m is { route: R; params: Record<string, string> } => m.params !== null)
    .sort((a, b) => specificity(b.route.path).localeCompare(specificity(a.route.path)));
  const hit = matches.find((m) => m.route.method === method.toUpperCase());
  if (hit) return { found: hit };
  return { found: null, allowed: [...new Set(matches.map((m) => m.route.method))].sort() };
}
