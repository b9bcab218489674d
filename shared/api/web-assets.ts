import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** The routes that serve the dashboard (`/`), the status pages (`/status`, `/status/{page}`) and their assets. */
export const WEB_ROUTES = [
  { method: 'GET', path: '/' },
  { method: 'GET', path: '/status' },
  { method: 'GET', path: '/status/{page}' },
  { method: 'GET', path: '/assets/{file}' },
  { method: 'GET', path: '/favicon.svg' },
] as const;

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

// Pages may load only their own scripts, styles and images and call only their own origin (the API).
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
  readonly cacheControl: string;
}

/** A build of web/ held in memory: only the files it had when read can be served, whatever a path says. */
export interface WebAssets {
  /** Undefined when the build is there; otherwise what is wrong, for the page that says so. */
  readonly problem: string | undefined;
  /** The files, by URL path (`/assets/index-abc123.js`). */
  readonly paths: readonly string[];
  /**
   * The answer to `GET rawPath` (a page, an asset, 304 on a matching If-None-Match, or 404). `/status` alone goes
   * to the first of `statusPages` (the ids of sites.yaml `statusPages`) when there is one.
   */
  respond(
    rawPath: string,
    headers?: APIGatewayProxyEventV2['headers'],
    statusPages?: readonly string[],
  ): APIGatewayProxyStructuredResultV2;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? walk(path) : e.isFile() ? [path] : [];
  });
}

/**
 * Reads every file of a web build (`dir`, as `npm run build:web` writes it) into memory. HTML is served with
 * `no-cache` (revalidated by ETag) and a strict Content-Security-Policy; files under assets/ carry a content hash
 * in their names and are cached for a year. A missing build is no error: the pages then say how to build it.
 */
export function loadWebAssets(dir: string, missingHint = 'run `npm run build:web`'): WebAssets {
  const files = new Map<string, Asset>();
  let problem: string | undefined;
  try {
    for (const file of walk(dir)) {
      const path = `/${relative(dir, file).split(sep).join('/')}`;
      const type = TYPES[extname(file)];
      if (!type || path.startsWith('/.') || path === '/build-info.json') continue;
      const body = readFileSync(file);
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
      const cacheControl = path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
      files.set(path, { body, type, etag, cacheControl });
    }
    if (!files.has('/index.html') || !files.has('/status.html')) problem = `the web build in ${dir} has no pages`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    problem = `the dashboard is not built (no ${dir})`;
  }
  if (problem) problem = `${problem}: ${missingHint}`;
  return {
    problem,
    paths: [...files.keys()].sort(),
    respond(rawPath, headers = {}, statusPages = []) {
      const first = statusPages[0];
      if (rawPath === '/status' && first !== undefined)
        return {
          statusCode: 302,
          headers: { location: `/status/${encodeURIComponent(first)}`, 'cache-control': 'no-cache' },
        };
      const page = rawPath === '/' ? '/index.html' : /^\/status(\/[^/]+)?$/.test(rawPath) ? '/status.html' : rawPath;
      const asset = files.get(page);
      if (!asset) {
        if (problem && (page === '/index.html' || page === '/status.html')) return notBuilt(problem);
        return plain(404, `not found: ${rawPath}\n`);
      }
      const common = {
        'content-type': asset.type,
        'cache-control': asset.cacheControl,
        etag: asset.etag,
        'x-content-type-options': 'nosniff',
        ...(asset.type.startsWith('text/html')
          ? { 'content-security-policy': CSP, 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY' }
          : {}),
      };
      if (headers['if-none-match']?.split(/\s*,\s*/).includes(asset.etag)) return { statusCode: 304, headers: common };
      const text = /^(text\/|application\/json|image\/svg)/.test(asset.type);
      return {
        statusCode: 200,
        headers: common,
        body: text ? asset.body.toString('utf8') : asset.body.toString('base64'),
        isBase64Encoded: !text,
      };
    },
  };
}

function plain(statusCode: number, body: string): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: {
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    },
    body,
  };
}

function notBuilt(problem: string): APIGatewayProxyStructuredResultV2 {
  const text = problem.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return {
    statusCode: 503,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': CSP,
      'x-content-type-options': 'nosniff',
    },
    body: `<!doctype html><html lang="en"><title>failover: dashboard not built</title><h1>Dashboard not built</h1><p>${text}</p><p>The API under /v1 works without it.</p></html>\n`,
  };
}
