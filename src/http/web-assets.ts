import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

// The console and ward front end is bundled by esbuild in memory, once per process, when the
// server starts: no build step before `npm start`, no CDN at run time. Everything esbuild
// needs is imported lazily so that importing this module costs nothing until a build runs.

/** Where the browser sources live (web/ at the repository root). */
export const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

/** One bundled file, ready to serve. */
export interface WebAsset {
  /** Its name under /assets/ ("console.js", "ward.js", "dashboard.js", "app.css", "report-map.js", "report-map.css"). */
  name: string;
  contentType: string;
  body: Uint8Array;
  /** The same bytes gzipped once at build time, for clients that accept gzip. */
  gzip: Uint8Array;
  /** First 16 hex digits of the SHA-256 of `body`: the ETag and the `?v=` of the URL. */
  hash: string;
}

export interface WebAssets {
  files: Map<string, WebAsset>;
  /** The path of an asset with its content hash, for the page shells: `/assets/console.js?v=…`. */
  url(name: string): string;
  buildMs: number;
}

/** A build's outcome: the bundles, or why there are none (the pages then show a clear error). */
export type WebAssetsResult = { ok: true; assets: WebAssets } | { ok: false; error: string };

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

/**
 * Bundles web/console/main.ts, web/ward.ts, web/dashboard.ts, web/styles.css (as app.css) and the
 * portal's map, web/report-map.ts (with report-map.css), with esbuild: minified,
 * ES2020, one self-contained file each. Throws with esbuild's messages when the sources do not
 * build.
 */
export async function buildWebAssets(opts: { webDir?: string; minify?: boolean } = {}): Promise<WebAssets> {
  const dir = opts.webDir ?? WEB_DIR;
  const started = performance.now();
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    absWorkingDir: dir,
    entryPoints: {
      console: path.join(dir, 'console', 'main.ts'), ward: path.join(dir, 'ward.ts'), dashboard: path.join(dir, 'dashboard.ts'), app: path.join(dir, 'styles.css'),
      // The public report form's map (Leaflet, its stylesheet beside it as report-map.css).
      'report-map': path.join(dir, 'report-map.ts'),
    },
    // Leaflet's stylesheet names a few small images (its layer icons): inlined, nothing fetched elsewhere.
    loader: { '.png': 'dataurl' },
    outdir: path.join(dir, 'dist'),
    bundle: true,
    write: false,
    minify: opts.minify ?? true,
    target: 'es2020',
    format: 'iife',
    platform: 'browser',
    charset: 'utf8',
    legalComments: 'none',
    tsconfig: path.join(dir, 'tsconfig.json'),
    logLevel: 'silent',
  });
  const files = new Map<string, WebAsset>();
  for (const out of result.outputFiles) {
    const name = path.basename(out.path);
    const body = out.contents;
    files.set(name, {
      name, body, gzip: gzipSync(body, { level: 9 }),
      contentType: TYPES[path.extname(name)] ?? 'application/octet-stream',
      hash: createHash('sha256').update(body).digest('hex').slice(0, 16),
    });
  }
  for (const name of ['console.js', 'ward.js', 'dashboard.js', 'app.css', 'report-map.js', 'report-map.css']) {
    if (!files.has(name)) throw new Error(`the web build produced no ${name}`);
  }
  return {
    files,
    url: (name) => `/assets/${name}?v=${files.get(name)?.hash ?? ''}`,
    buildMs: Math.round(performance.now() - started),
  };
}

/** esbuild's failure as a few readable lines. */
function describe(err: unknown): string {
  const e = err as { errors?: { text: string; location?: { file: string; line: number } | null }[]; message?: string };
  if (Array.isArray(e.errors) && e.errors.length) {
    return e.errors.slice(0, 5).map((x) => (x.location ? `${x.location.file}:${x.location.line}: ${x.text}` : x.text)).join('\n');
  }
  return String(e.message ?? err);
}

let shared: Promise<WebAssetsResult> | null = null;
let done: WebAssets | null = null;

/** The bundles of this process if a build has finished, without waiting for one (the portal links them by hash then). */
export function builtWebAssets(): WebAssets | null {
  return done;
}

/**
 * The bundles of this process: built on the first call, the same promise afterwards (a failed
 * build is remembered too, so a broken tree does not rebuild on every request). Never rejects.
 */
export function loadWebAssets(): Promise<WebAssetsResult> {
  shared ??= buildWebAssets().then(
    (assets): WebAssetsResult => {
      done = assets;
      return { ok: true, assets };
    },
    (err: unknown): WebAssetsResult => ({ ok: false, error: describe(err) }),
  );
  return shared;
}
