import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Logger } from 'pino';

/** The dashboard's sources (a browser app, see apps/api/dashboard/README.md). */
export const DASHBOARD_DIR = path.resolve(__dirname, '..', '..', '..', 'dashboard');

export interface DashboardAsset {
  path: string;
  type: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

/**
 * Content-Security-Policy of the dashboard: everything from this origin, nothing from elsewhere
 * (no CDN, no external font); inline style attributes are allowed because the charting library
 * positions its tooltips with them.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

function asset(p: string, type: string, body: Buffer): DashboardAsset {
  return {
    path: p,
    type,
    body,
    gzip: gzipSync(body, { level: 9 }),
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
  };
}

/**
 * Bundles the dashboard (TypeScript + ECharts + CSS) with esbuild, in memory: the api serves
 * what it built at boot, so the served page always matches the sources and no build output
 * has to be written next to the code (the container runs read-only as `node`).
 */
export async function buildDashboard(dir = DASHBOARD_DIR): Promise<DashboardAsset[]> {
  // esbuild is loaded only here: nothing else in the api needs it.
  const esbuild = await import('esbuild');
  const out = await esbuild.build({
    entryPoints: [path.join(dir, 'src', 'main.ts')],
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    outdir: 'out',
    entryNames: 'app',
    write: false,
    legalComments: 'eof',
    logLevel: 'silent',
    tsconfig: path.join(dir, 'tsconfig.json'),
  });
  const assets: DashboardAsset[] = [
    asset('/', 'text/html; charset=utf-8', fs.readFileSync(path.join(dir, 'index.html'))),
  ];
  for (const f of out.outputFiles) {
    const name = path.basename(f.path);
    const type = name.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8';
    assets.push(asset(`/${name}`, type, Buffer.from(f.contents)));
  }
  return assets;
}

/**
 * Serves the dashboard at `/` (index.html, app.js, app.css) beside the API under /api/v1. The
 * files are public (they hold no data); every API call they make carries the user's key.
 */
export async function serveDashboard(app: NestFastifyApplication, logger: Logger): Promise<void> {
  const started = Date.now();
  let assets: DashboardAsset[];
  try {
    assets = await buildDashboard();
  } catch (err) {
    // The API works without its dashboard: say why, serve a page that says so.
    logger.error({ err }, 'dashboard build failed; serving a notice at /');
    const html = Buffer.from(
      '<!doctype html><meta charset="utf-8"><title>kvplan</title><p>The dashboard could not be built; see the api log. The API is at /api/v1 and its documentation at /docs.</p>',
    );
    assets = [asset('/', 'text/html; charset=utf-8', html)];
  }
  logger.info(
    { ms: Date.now() - started, files: assets.map((a) => `${a.path} ${a.body.length}`) },
    'dashboard built',
  );
  const fastify = app.getHttpAdapter().getInstance();
  for (const a of assets) {
    fastify.get(a.path, (req, reply) => {
      void reply
        .header('content-type', a.type)
        .header('cache-control', 'no-cache')
        .header('etag', a.etag)
        .header('x-content-type-options', 'nosniff')
        .header('vary', 'accept-encoding');
      if (a.path === '/')
        void reply.header('content-security-policy', DASHBOARD_CSP).header('referrer-policy', 'no-referrer');
      if (req.headers['if-none-match'] === a.etag) return reply.code(304).send();
      const gz = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      if (gz) void reply.header('content-encoding', 'gzip');
      return reply.send(gz ? a.gzip : a.body);
    });
  }
}
