// `npm ci` and `npm install` run this (the `prepare` script): build the CLI into dist/ so the
// installed `logferry` runs JavaScript. An install without devDependencies (`npm ci --omit=dev`,
// e.g. the runtime stage of an image that copied dist/ in) has no build tools and keeps the
// dist/ it was given.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

function installed(name) {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

if (!installed('tsx') || !installed('esbuild')) {
  const has = existsSync(`${root}dist/cli.mjs`);
  process.stderr.write(
    has
      ? 'logferry prepare: no build tools (devDependencies); keeping the existing dist/\n'
      : 'logferry prepare: no build tools (devDependencies) and no dist/: install with devDependencies, or copy a dist/ built elsewhere\n',
  );
  process.exit(0);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/build.ts', '--cli-only'], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
