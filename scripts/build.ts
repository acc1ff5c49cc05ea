/**
 * `npm run build`: bundles the CLI (dist/cli.mjs) and one Lambda per handler in
 * src/runtimes/lambda (dist/lambda/<name>/index.mjs and its chunks/, handler `index.handler`) with esbuild.
 * `npm run package` also zips each Lambda folder (dist/lambda/<name>.zip) for upload or CDK.
 * Source maps go to dist/lambda/maps/<name>/, outside the zips.
 *
 *   --config FILE   bundle only the handlers that feed FILE's sources, with only the components
 *                   FILE names, and copy the rule files it loads into the zip (paths relative to
 *                   the working directory, as `logferry run` reads them)
 *   --external-sdk  leave @aws-sdk/* out and use the Lambda runtime's copy
 *   --cli-only      just the CLI (what `npm ci` runs through `prepare`, in about a second)
 *   --out DIR       instead of dist/; the CLI's esbuild metafile goes to cli.meta.json
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import {
  banner,
  bundleLambda,
  configShape,
  HANDLER_SOURCES,
  handlerNames,
  ROOT,
  zipDir,
} from '../infra/bundle.js';
import type { Config } from '../src/config/schema.js';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

const dist = resolve(option('--out') ?? join(ROOT, 'dist'));
const configPath = option('--config');
const zipAll = process.argv.includes('--zip');
const externalSdk = process.argv.includes('--external-sdk');
const cliOnly = process.argv.includes('--cli-only');
const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;

let config: Config | undefined;
if (configPath)
  config = configShape(await readFile(configPath, 'utf8'), configPath, process.env as Record<string, string>);

/**
 * Runtime dependencies the CLI bundles: small, pure JavaScript, and loaded by every command. zod
 * alone is ~95 module files, each resolved, read and compiled on its own at every start (and in
 * every decode worker): ~70 ms of a 0.35 s `logferry decode`. The rest stay in node_modules.
 */
const BUNDLED = new Set(['zod', 'commander']);
const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};
const external = Object.keys(pkg.dependencies)
  .filter((d) => !BUNDLED.has(d))
  .flatMap((d) => [d, `${d}/*`]);

await rm(dist, { recursive: true, force: true });
const cli = await build({
  entryPoints: [join(ROOT, 'src/runtimes/cli/main.ts')],
  outdir: dist,
  entryNames: 'cli',
  outExtension: { '.js': '.mjs' },
  // Commands and components load what they need when they run (the registry imports lazily):
  // split into chunks, `decode` or `--help` no longer start by loading every AWS SDK client.
  splitting: true,
  // Beside cli.mjs, not in a subfolder: the daemon finds web/ relative to its own module.
  chunkNames: 'cli-[name]-[hash]',
  bundle: true,
  // The CLI runs from an install that has the runtime dependencies in node_modules: importing
  // them keeps the build fast and `dependencies` the true list of what runs (native ones
  // included); only BUNDLED ones are inlined. DuckDB (local_store, search) is a native addon.
  external,
  metafile: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  banner,

  sourcemap: 'linked',
  logLevel: 'warning',
  // The dashboard is served from web/ beside dist/; nothing else is read from disk.
});
await writeFile(join(dist, 'cli.meta.json'), JSON.stringify(cli.metafile));
// The daemon's decode workers (src/runtimes/daemon/decode/pool.ts) run this file beside cli.mjs.
await build({
  entryPoints: [join(ROOT, 'src/runtimes/daemon/decode/decode-worker.ts')],
  outfile: join(dist, 'decode-worker.mjs'),
  bundle: true,
  external,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  banner,
  sourcemap: 'linked',
  logLevel: 'warning',
});
const types = new Set<string>(config?.sources.map((s) => s.type));
for (const name of cliOnly ? [] : await handlerNames()) {
  if (config && !(HANDLER_SOURCES[name] ?? []).some((t) => types.has(t))) continue;
  const outdir = join(dist, 'lambda', name);
  const { bytes, rules } = await bundleLambda({
    handler: name,
    outdir,
    mapdir: join(dist, 'lambda', 'maps', name),
    config,
    rulesBase: process.cwd(),
    externalSdk,
  });
  let line = `lambda ${name}: ${outdir}/index.mjs (${kib(bytes)} with its chunks${rules.length ? `, ${rules.length} rule files` : ''})`;
  if (zipAll) line += `, ${name}.zip (${kib(await zipDir(outdir, join(dist, 'lambda', `${name}.zip`)))})`;
  process.stderr.write(`${line}\n`);
}
process.stderr.write(`cli: ${join(dist, 'cli.mjs')}\n`);
