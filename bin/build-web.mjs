#!/usr/bin/env node
// `npm run build:web`: writes the console and ward bundles to web/dist/ for inspection. The
// server does not need this: it bundles the same sources in memory when it starts.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { register } from 'tsx/esm/api';

register();
const { buildWebAssets, WEB_DIR } = await import('../src/http/web-assets.ts');
const minify = !process.argv.includes('--no-minify');
try {
  const assets = await buildWebAssets({ minify });
  const out = path.join(WEB_DIR, 'dist');
  await mkdir(out, { recursive: true });
  for (const f of assets.files.values()) {
    await writeFile(path.join(out, f.name), f.body);
    console.log(`web/dist/${f.name}  ${(f.body.length / 1024).toFixed(1)} kB (${(f.gzip.length / 1024).toFixed(1)} kB gzip)  ${f.hash}`);
  }
  console.log(`built in ${assets.buildMs} ms`);
} catch (err) {
  console.error(Array.isArray(err?.errors) ? err.errors.map((e) => `${e.location?.file ?? ''}:${e.location?.line ?? ''} ${e.text}`).join('\n') : err);
  process.exitCode = 1;
}
