#!/usr/bin/env node
// Entry for `npx phananh` and `npm start`: runs the TypeScript sources through tsx's loader.
process.env.DOTENV_CONFIG_QUIET ??= 'true';
import { register } from 'tsx/esm/api';
register();
await import('../src/cli.ts');
