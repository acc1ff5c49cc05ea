#!/usr/bin/env node
// In a checkout the TypeScript sources run directly (tsx), so a clone works without a build step
// and never runs a stale build; an install without sources runs the bundle from `npm run build`.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = fileURLToPath(new URL('../src/runtimes/cli/main.ts', import.meta.url));
const built = fileURLToPath(new URL('../dist/cli.mjs', import.meta.url));
if (!existsSync(source) || (process.env.LOGFERRY_USE_DIST && existsSync(built))) {
  await import(built);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/runtimes/cli/main.ts');
}
