#!/usr/bin/env node
// `npm run bench -- <name>`: runs bench/<name>.ts through tsx's loader (like bin/phananh.mjs).
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

const dir = fileURLToPath(new URL('.', import.meta.url));
const available = readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort();
const name = process.argv[2];

if (!name || !available.includes(name)) {
  console.error(`${name ? `unknown benchmark "${name}"` : 'no benchmark named'}; usage: npm run bench -- <name>`);
  console.error(`available: ${available.join(', ') || '(none)'}`);
  process.exit(2);
}

register();
await import(new URL(`./${name}.ts`, import.meta.url).href);
