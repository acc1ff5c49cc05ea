#!/usr/bin/env node
// Runs the TypeScript CLI directly (tsx), so a clone works without a build step; `npm run build`
// produces bundled JavaScript for Lambda and for installs that prefer it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = fileURLToPath(new URL('../dist/cli.mjs', import.meta.url));
if (existsSync(built) && !process.env.LOGFERRY_FROM_SOURCE) {
  await import(built);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/runtimes/cli/main.ts');
}
