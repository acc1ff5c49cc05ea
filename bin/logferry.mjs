#!/usr/bin/env node
// The installed CLI runs the JavaScript that `npm run build` puts in dist/ (`npm ci` and
// `npm install` run it through `prepare`), so running it needs neither a TypeScript loader
// nor a build tool. In a checkout, LOGFERRY_FROM_SOURCE=1 runs the TypeScript sources through
// tsx (a devDependency) instead, so tests and development never run a stale build.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = join(root, 'dist', 'cli.mjs');
const sources = join(root, 'src');

if (process.env.LOGFERRY_FROM_SOURCE === '1') {
  const { register } = await import('tsx/esm/api').catch(() => {
    process.stderr.write('logferry: LOGFERRY_FROM_SOURCE=1 needs tsx, a devDependency: run `npm ci`\n');
    process.exit(2);
  });
  register();
  await import(new URL('../src/runtimes/cli/main.ts', import.meta.url).href);
} else if (!existsSync(built)) {
  process.stderr.write(`logferry: ${built} is missing: run \`npm run build\` (npm ci runs it)\n`);
  process.exit(2);
} else {
  warnIfStale();
  await import(new URL('../dist/cli.mjs', import.meta.url).href);
}

/** In a checkout, a source file newer than the build means dist/ does not run the code you see. */
function warnIfStale() {
  if (!existsSync(sources)) return;
  const builtAt = statSync(built).mtimeMs;
  const newer = (dir) =>
    readdirSync(dir, { withFileTypes: true }).some((e) =>
      e.isDirectory()
        ? newer(join(dir, e.name))
        : !e.name.endsWith('.test.ts') && statSync(join(dir, e.name)).mtimeMs > builtAt,
    );
  if (newer(sources))
    process.stderr.write('logferry: src/ changed since the last build; run `npm run build` to use it\n');
}
