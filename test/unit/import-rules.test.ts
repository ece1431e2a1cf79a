import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// The layering rules of STYLE.md, checked on the source: core imports no transport, channels
// never import each other, intake never imports a channel. Imports are read with the
// TypeScript scanner, so `import type`, `export ... from` and dynamic `import()` all count.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SOURCE_DIRS = ['src', 'channels', 'web', 'migrations'];
const EXTENSIONS = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;

/** Packages core may not import (a transport, a provider SDK or a database driver). */
const CORE_FORBIDDEN_PACKAGES = ['hono', '@hono/*', 'socket.io', 'twilio', 'imapflow', 'nodemailer', 'meilisearch', 'pg', '@electric-sql/pglite'];
/** Folders core may not import from. */
const CORE_FORBIDDEN_PATHS = ['channels/', 'src/http/', 'src/realtime/', 'src/intake/', 'src/workers/', 'web/'];

/**
 * What the Workers bundle (src/edge.ts) must not contain: the process metrics registry and
 * its default collectors (process.cpuUsage), the file spool, the embedded database, the
 * socket server, the engine's NLP, provider SDKs; and the staff side, which the edge does not serve.
 */
const EDGE_FORBIDDEN_PACKAGES = ['prom-client', '@electric-sql/pglite', 'socket.io', '@socket.io/*', '@hono/node-server', 'natural', 'twilio', 'imapflow', 'nodemailer', 'esbuild'];
const EDGE_FORBIDDEN_PATHS = [
  'src/metrics.ts', 'src/intake/spool.ts', 'src/db/connect.ts', 'src/db/pglite-dialect.ts', 'src/runtime.ts',
  'src/workers/', 'src/realtime/', 'src/http/app.ts', 'src/http/auth.ts', 'src/http/console/', 'src/http/staff-pages.ts',
];

/** What an import specifier points at: a package name, or a repository-relative path. */
type Target = { package: string } | { path: string };

/** Every module specifier in a source text. */
function importsOf(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
}

/**
 * The specifiers a bundler keeps: every import but those only ever written `import type` or
 * `export type` (erased when compiled).
 */
function valueImportsOf(source: string): string[] {
  const file = ts.createSourceFile('x.ts', source, ts.ScriptTarget.Latest, false);
  const erased = new Set<string>();
  const kept = new Set<string>();
  for (const st of file.statements) {
    if (!(ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) || !st.moduleSpecifier || !ts.isStringLiteral(st.moduleSpecifier)) continue;
    const typeOnly = ts.isImportDeclaration(st) ? Boolean(st.importClause?.isTypeOnly) : st.isTypeOnly;
    (typeOnly ? erased : kept).add(st.moduleSpecifier.text);
  }
  return importsOf(source).filter((spec) => kept.has(spec) || !erased.has(spec));
}

/** Resolves a specifier seen in `file` (repository-relative, posix). */
function targetOf(file: string, specifier: string): Target {
  if (specifier.startsWith('.')) return { path: path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier)) };
  if (specifier.startsWith('/')) return { path: path.posix.relative(ROOT.split(path.sep).join('/'), specifier) };
  const parts = specifier.split('/');
  return { package: specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]! };
}

const packageForbidden = (pkg: string, rules: string[]) =>
  rules.some((r) => (r.endsWith('/*') ? pkg.startsWith(r.slice(0, -1)) : pkg === r));

/** The channel folder a path lies in (`channels/<name>/...`), or null. */
const channelOf = (p: string) => /^channels\/([^/]+)\//.exec(p)?.[1] ?? null;

/** The one module of src/ a channel may import. */
const CHANNEL_KIT = 'src/intake/channel-kit.ts';

/** Rule violations of one import, or an empty list. */
function violationsOf(file: string, specifier: string): string[] {
  const t = targetOf(file, specifier);
  const out: string[] = [];
  const where = `${file} imports ${specifier}`;
  const to = 'path' in t ? t.path : null;
  const into = (dir: string) => to !== null && (to.startsWith(dir) || `${to}/` === dir);
  if (file.startsWith('src/core/')) {
    if ('package' in t && packageForbidden(t.package, CORE_FORBIDDEN_PACKAGES)) out.push(`${where}: core imports no transport, SDK or driver`);
    if (CORE_FORBIDDEN_PATHS.some((p) => into(p))) out.push(`${where}: core imports nothing outward`);
  }
  if (file.startsWith('src/db/') && (into('src/core/') || into('src/city/'))) out.push(`${where}: db is Kysely only; it imports no domain`);
  if (file.startsWith('src/intake/') && (into('src/workers/') || into('src/http/') || into('src/realtime/'))) out.push(`${where}: intake imports no worker, HTTP app or socket server`);
  if (file.startsWith('src/realtime/') && into('src/http/')) out.push(`${where}: realtime never imports the HTTP app`);
  const own = channelOf(file);
  // A channel's tests drive the whole app (test/support); the rules are for what it ships.
  if (own && to !== null && !file.endsWith('.test.ts')) {
    const other = channelOf(to);
    if (other && other !== own) out.push(`${where}: a channel never imports another channel`);
    if (to === 'channels/index.ts' || to === 'channels') out.push(`${where}: a channel never imports the registry (every channel)`);
    if (to.startsWith('src/') && to !== CHANNEL_KIT) out.push(`${where}: a channel imports only the kit (${CHANNEL_KIT})`);
  }
  if (file.startsWith('src/intake/') && (into('channels/') || to === 'channels')) {
    out.push(`${where}: intake never imports a channel`);
  }
  return out;
}

function listSources(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(path.join(ROOT, dir))) {
      if (name === 'node_modules' || name === 'dist') continue;
      const rel = `${dir}/${name}`;
      if (statSync(path.join(ROOT, rel)).isDirectory()) walk(rel);
      else if (EXTENSIONS.test(name)) out.push(rel);
    }
  };
  for (const d of SOURCE_DIRS) if (existsSync(path.join(ROOT, d))) walk(d);
  return out.sort();
}

const SOURCES = listSources();
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/** Resolves a relative import to an existing file (`./x.ts`, or `./x` as `x.ts` / `x/index.ts`). */
function resolveFile(p: string): string | null {
  for (const c of [p, `${p}.ts`, `${p}/index.ts`]) {
    if (existsSync(path.join(ROOT, c)) && statSync(path.join(ROOT, c)).isFile()) return c;
  }
  return null;
}

/**
 * Follows relative imports from `starts`: every module reached, and each path (as a trail)
 * that ends in a forbidden package or folder, which is not followed further.
 */
function reach(starts: string[], packages: string[], paths: string[], imports: (source: string) => string[]): { seen: Set<string>; problems: string[] } {
  const problems: string[] = [];
  const seen = new Set<string>();
  const visit = (file: string, trail: string[]) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of imports(read(file))) {
      const t = targetOf(file, spec);
      if ('package' in t) {
        if (packageForbidden(t.package, packages)) problems.push(`${[...trail, file].join(' -> ')} -> ${spec}`);
        continue;
      }
      const next = resolveFile(t.path);
      if (!next) continue;
      if (paths.some((p) => next.startsWith(p))) problems.push(`${[...trail, file].join(' -> ')} -> ${next}`);
      else visit(next, [...trail, file]);
    }
  };
  for (const f of starts) visit(f, []);
  return { seen, problems };
}

describe('the scanner', () => {
  it('sees every form of import', () => {
    const source = [
      "import { Hono } from 'hono';",
      "import type { Server } from 'socket.io';",
      'import {',
      '  a,',
      '  b,',
      "} from '../db/connect.ts';",
      "export { x } from '@hono/node-server';",
      "export * from 'pg';",
      "import 'twilio';",
      "const m = await import('imapflow');",
      "// import { nope } from 'comment-only'",
      "const s = \"from 'not-an-import'\";",
    ].join('\n');
    expect(importsOf(source)).toEqual(['hono', 'socket.io', '../db/connect.ts', '@hono/node-server', 'pg', 'twilio', 'imapflow']);
    // What a bundle keeps: `import type` is erased, unless the same module is also imported for a value.
    expect(valueImportsOf(source)).toEqual(['hono', '../db/connect.ts', '@hono/node-server', 'pg', 'twilio', 'imapflow']);
    expect(valueImportsOf("import type { A } from './a.ts';\nimport { b } from './a.ts';\nexport type { C } from './c.ts';")).toEqual(['./a.ts', './a.ts']);
  });

  const bad: [string, string][] = [
    ['src/core/pipeline.ts', 'hono'],
    ['src/core/pipeline.ts', 'hono/body-limit'],
    ['src/core/pipeline.ts', '@hono/node-server'],
    ['src/core/x.ts', 'socket.io'],
    ['src/core/x.ts', 'twilio'],
    ['src/core/x.ts', 'imapflow'],
    ['src/core/x.ts', 'nodemailer'],
    ['src/core/x.ts', 'meilisearch'],
    ['src/core/x.ts', 'pg'],
    ['src/core/x.ts', 'pg/lib/client'],
    ['src/core/x.ts', '@electric-sql/pglite'],
    ['src/core/x.ts', '@electric-sql/pglite/contrib/pg_trgm'],
    ['src/core/x.ts', '../../channels/web-form/index.ts'],
    ['src/core/x.ts', '../../channels/index.ts'],
    ['src/core/x.ts', '../http/app.ts'],
    ['src/core/x.ts', '../realtime/server.ts'],
    ['src/core/x.ts', '../intake/intake-service.ts'],
    ['src/core/x.ts', '../workers/queue.ts'],
    ['src/core/x.ts', '../../web/console/main.ts'],
    ['src/core/deep/y.ts', '../../http/app.ts'],
    ['channels/web-form/index.ts', '../mobile-app/index.ts'],
    ['channels/web-form/pages.ts', '../../channels/mobile-app/openapi.ts'],
    ['channels/web-form/index.ts', '../index.ts'],
    ['src/intake/channel-adapter.ts', '../../channels/web-form/index.ts'],
    ['src/intake/x.ts', '../../channels/index.ts'],
    ['src/intake/intake-service.ts', '../workers/queue.ts'],
    ['src/intake/x.ts', '../http/app.ts'],
    ['src/db/areas.ts', '../core/engine/text.ts'],
    ['src/db/x.ts', '../city/hcmc.ts'],
    ['src/realtime/server.ts', '../http/auth.ts'],
    ['channels/web-form/index.ts', '../../src/intake/intake-service.ts'],
    ['channels/web-form/pages.ts', '../../src/core/tickets/tracking.ts'],
  ];
  it.each(bad)('flags %s importing %s', (file, spec) => {
    expect(violationsOf(file, spec)).not.toEqual([]);
  });

  const fine: [string, string][] = [
    ['src/core/pipeline.ts', 'kysely'],
    ['src/core/identity.ts', 'libphonenumber-js/max'],
    ['src/core/x.ts', 'pg-format'], // another package, not `pg`
    ['src/core/x.ts', 'honorific'],
    ['src/core/x.ts', '../db/schema.ts'],
    ['src/core/x.ts', './text.ts'],
    ['src/core/x.ts', 'node:crypto'],
    ['channels/web-form/index.ts', './pages.ts'],
    ['channels/web-form/index.ts', '../../src/intake/channel-kit.ts'],
    ['channels/web-form/index.ts', 'hono'],
    ['channels/index.ts', './web-form/index.ts'],
    ['channels/index.ts', '../src/intake/channel-kit.ts'],
    ['src/intake/intake-service.ts', '../db/records.ts'],
    ['src/workers/outbound.ts', '../intake/channel-kit.ts'],
    ['src/http/app.ts', '../../channels/index.ts'],
    ['src/city/seed.ts', '../core/places/gazetteer.ts'],
    ['src/runtime.ts', '../channels/index.ts'],
    ['channels/web-form/web-form.test.ts', '../../test/support/runtime.ts'],
    ['channels/web-form/web-form.test.ts', '../../src/intake/form-token.ts'],
  ];
  it.each(fine)('allows %s importing %s', (file, spec) => {
    expect(violationsOf(file, spec)).toEqual([]);
  });

  it('finds a violation in a whole synthetic core file', () => {
    const file = 'src/core/leaky.ts';
    const source = "import { sql } from 'kysely';\nimport type { Context } from 'hono';\nexport const f = (c: Context) => sql`${c}`;\n";
    expect(importsOf(source).flatMap((s) => violationsOf(file, s))).toEqual([
      'src/core/leaky.ts imports hono: core imports no transport, SDK or driver',
    ]);
  });
});

describe('import rules on the source tree', () => {
  it('scans the folders that exist, including core, intake and every channel', () => {
    expect(SOURCES.filter((f) => f.startsWith('src/core/')).length).toBeGreaterThanOrEqual(10);
    expect(SOURCES.filter((f) => f.startsWith('src/intake/')).length).toBeGreaterThanOrEqual(2);
    expect(new Set(SOURCES.map(channelOf).filter(Boolean)).size).toBeGreaterThanOrEqual(2);
    // The scanner does see imports in these files (an empty parse would pass every rule).
    expect(importsOf(read('src/core/engine/process-report.ts'))).toContain('./pipeline.ts');
    expect(importsOf(read('channels/mobile-app/index.ts'))).toContain('hono');
  });

  it('no file breaks a rule', () => {
    const violations = SOURCES.flatMap((file) => importsOf(read(file)).flatMap((s) => violationsOf(file, s)));
    expect(violations).toEqual([]);
  });

  it('the layers of src/ import one another without a cycle (core counts as one layer)', () => {
    // A node per folder of src/ (core as a whole) and per file at its root (config, runtime...).
    const nodeOf = (f: string) => (f.split('/').length === 2 ? f : f.split('/').slice(0, 2).join('/'));
    const edges = new Map<string, Set<string>>();
    for (const file of SOURCES.filter((f) => f.startsWith('src/'))) {
      for (const spec of importsOf(read(file))) {
        const t = targetOf(file, spec);
        if (!('path' in t) || !t.path.startsWith('src/')) continue;
        const target = resolveFile(t.path);
        if (!target) continue;
        const [a, b] = [nodeOf(file), nodeOf(target)];
        if (a !== b) edges.set(a, (edges.get(a) ?? new Set()).add(b));
      }
    }
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (n: string, trail: string[]) => {
      if (state.get(n) === 'done') return;
      if (state.get(n) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(n)), n].join(' -> '));
        return;
      }
      state.set(n, 'open');
      for (const m of edges.get(n) ?? []) visit(m, [...trail, n]);
      state.set(n, 'done');
    };
    for (const n of edges.keys()) visit(n, []);
    expect(edges.get('src/intake')?.has('src/workers') ?? false).toBe(false);
    expect(cycles).toEqual([]);
  });

  it('browser code imports from src/ only modules that import no package (the vocabulary, the wire types)', () => {
    const problems: string[] = [];
    const pure = (file: string, trail: string[]): void => {
      for (const spec of importsOf(read(file))) {
        const t = targetOf(file, spec);
        if ('package' in t) {
          problems.push(`${[...trail, file].join(' -> ')} -> ${spec}`);
          continue;
        }
        const next = resolveFile(t.path);
        if (next) pure(next, [...trail, file]);
      }
    };
    const web = SOURCES.filter((f) => f.startsWith('web/'));
    let reached = 0;
    for (const file of web) {
      for (const spec of importsOf(read(file))) {
        const t = targetOf(file, spec);
        const target = 'path' in t ? resolveFile(t.path) : null;
        if (target?.startsWith('src/')) {
          reached++;
          pure(target, [file]);
        }
      }
    }
    expect(reached).toBeGreaterThan(0); // it does look at the shared modules
    expect(problems).toEqual([]);
  });

  it('the edge entry reaches nothing Node-only (what workerd cannot run, or the edge does not serve)', () => {
    // Every module src/edge.ts pulls into the Workers bundle (type-only imports are erased).
    const { seen, problems } = reach(['src/edge.ts'], EDGE_FORBIDDEN_PACKAGES, EDGE_FORBIDDEN_PATHS, valueImportsOf);
    expect(seen).toContain('channels/web-form/index.ts'); // it did follow the channels
    expect(problems).toEqual([]);
  });

  it('core does not reach a forbidden package through another module either', () => {
    // Follow relative imports from core through the rest of src/ (e.g. core -> src/db/x.ts -> pg).
    const core = SOURCES.filter((f) => f.startsWith('src/core/'));
    const { seen, problems } = reach(core, CORE_FORBIDDEN_PACKAGES, CORE_FORBIDDEN_PATHS, importsOf);
    expect(seen.size).toBeGreaterThan(core.length); // it did leave core (src/db/schema.ts at least)
    expect(problems).toEqual([]);
  });
});
