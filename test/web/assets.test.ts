import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startHttpServer, type HttpServer } from '../../local/http-server.ts';
import { WEB_DIR } from '../../local/web-build.ts';
import { webRoutes } from '../../local/web-routes.ts';
import { loadWebAssets } from '../../shared/api/web-assets.ts';

/** One raw HTTP/1.1 request, as written (no client normalises `..` away); the whole answer as text. */
function rawGet(server: HttpServer, target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, server.host, () => {
      socket.write(`GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
    });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

const status = (answer: string) => Number(answer.split(' ')[1]);

let server: HttpServer;
let fake: string;
beforeAll(async () => {
  // The real build (global setup builds web/ when it changed), plus a secret beside it that nothing may reach.
  fake = await mkdtemp(join(inject('scratchDir'), 'web-'));
  await mkdir(join(fake, 'assets'));
  await writeFile(join(fake, 'index.html'), '<!doctype html><title>dash</title>');
  await writeFile(join(fake, 'status.html'), '<!doctype html><title>status</title>');
  await writeFile(join(fake, 'assets', 'app-abc123.js'), 'console.log(1)');
  await writeFile(join(fake, 'assets', 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 255]));
  await writeFile(join(fake, 'assets', 'secret.key'), 'TOP-SECRET');
  await writeFile(join(fake, '.env'), 'TOP-SECRET');
  await writeFile(join(inject('scratchDir'), 'outside.js'), 'TOP-SECRET');
  server = await startHttpServer({ port: 0, routes: webRoutes(loadWebAssets(fake)) });
});
afterAll(() => server?.close());

describe('the web build as served on the API port', () => {
  it('serves the pages and assets of dist/web with their content types', async () => {
    const assets = loadWebAssets(WEB_DIR);
    expect(assets.problem).toBeUndefined();
    const real = await startHttpServer({ port: 0, routes: webRoutes(assets) });
    try {
      const page = await fetch(`${real.url}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(page.headers.get('cache-control')).toBe('no-cache');
      expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
      const html = await page.text();
      const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      const style = /href="(\/assets\/[^"]+\.css)"/.exec(html)?.[1];
      expect(script).toBeDefined();
      expect(style).toBeDefined();
      const js = await fetch(`${real.url}${script}`);
      expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      const css = await fetch(`${real.url}${style}`);
      expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
      for (const path of ['/status', '/status/main']) {
        const res = await fetch(`${real.url}${path}`);
        expect(res.status).toBe(200);
        expect(await res.text()).toContain('<title>Status</title>');
      }
      const icon = await fetch(`${real.url}/favicon.svg`);
      expect(icon.headers.get('content-type')).toBe('image/svg+xml');
    } finally {
      await real.close();
    }
  });

  it('answers a matching If-None-Match with 304, and binary files byte for byte', async () => {
    const first = await fetch(`${server.url}/`);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await fetch(`${server.url}/`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    const png = await fetch(`${server.url}/assets/logo.png`);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect([...new Uint8Array(await png.arrayBuffer())]).toEqual([0x89, 0x50, 0x4e, 0x47, 0, 255]);
  });

  it('serves only the files of the build: no traversal, no hidden or unknown files', async () => {
    const targets = [
      '/assets/../../outside.js',
      '/assets/..%2f..%2foutside.js',
      '/assets/..%2F..%2F..%2Foutside.js',
      '/assets/%2e%2e%2f%2e%2e%2foutside.js',
      '/assets/..\\..\\outside.js',
      '/assets/secret.key',
      '/.env',
      '/%2eenv',
      '/assets/',
      '/status/..%2F..%2Foutside.js',
      '//etc/passwd',
      '/index.html/../.env',
      '/build-info.json',
    ];
    for (const target of targets) {
      const answer = await rawGet(server, target);
      expect(answer, target).not.toContain('TOP-SECRET');
      expect([200, 400, 404], target).toContain(status(answer));
      // /status/<anything> is the status page itself (the page reads its id from the path), never a file.
      if (status(answer) === 200) expect(answer, target).toContain('<title>status</title>');
    }
    expect(status(await rawGet(server, '/assets/app-abc123.js'))).toBe(200);
  });

  it('says how to build the dashboard when there is no build', async () => {
    const none = await startHttpServer({ port: 0, routes: webRoutes(loadWebAssets(join(fake, 'nothing-here'))) });
    try {
      const res = await fetch(`${none.url}/`);
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await res.text()).toContain('run `npm run build:web`');
      expect((await fetch(`${none.url}/assets/app.js`)).status).toBe(404);
    } finally {
      await none.close();
    }
  });
});
