/**
 * `npm run build`: bundles the CLI (dist/cli.mjs) and one Lambda per handler in
 * src/runtimes/lambda (dist/lambda/<name>/index.mjs, handler `index.handler`) with esbuild.
 * `npm run package` also zips each Lambda (dist/lambda/<name>.zip) for upload or CDK.
 * `--cli-only` builds just the CLI (what `npm ci` runs through `prepare`, in about a second);
 * `--out DIR` writes elsewhere than dist/; the CLI's esbuild metafile goes to cli.meta.json.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import yazl from 'yazl';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outArg = process.argv.indexOf('--out');
const dist = outArg > 0 ? process.argv[outArg + 1]! : join(root, 'dist');
// ESM bundles that contain CommonJS dependencies need `require`, `__dirname` and `__filename`.
const banner = {
  js: [
    "import { createRequire as __lfCreateRequire } from 'node:module';",
    "import { fileURLToPath as __lfToPath } from 'node:url';",
    "import { dirname as __lfDirname } from 'node:path';",
    'const require = __lfCreateRequire(import.meta.url);',
    'const __filename = __lfToPath(import.meta.url);',
    'const __dirname = __lfDirname(__filename);',
  ].join('\n'),
};

/** Every module in src/runtimes/lambda that exports a `handler` (the others are shared helpers). */
async function handlers(): Promise<string[]> {
  const dir = join(root, 'src/runtimes/lambda');
  const names: string[] = [];
  for (const f of await readdir(dir)) {
    if (!f.endsWith('.ts') || f.endsWith('.test.ts') || f.endsWith('.d.ts')) continue;
    if (/export (async )?function handler\b/.test(await readFile(join(dir, f), 'utf8'))) names.push(f.slice(0, -3));
  }
  return names.sort();
}

function zipDir(dir: string, out: string): Promise<void> {
  return new Promise(async (resolve, reject) => {
    const zip = new yazl.ZipFile();
    for (const f of await readdir(dir)) zip.addFile(join(dir, f), f, { mtime: new Date(0) });
    zip.end();
    zip.outputStream.pipe(createWriteStream(out)).on('close', resolve).on('error', reject);
  });
}

const zipAll = process.argv.includes('--zip');
const cliOnly = process.argv.includes('--cli-only');
await rm(dist, { recursive: true, force: true });
const cli = await build({
  entryPoints: [join(root, 'src/runtimes/cli/main.ts')],
  outfile: join(dist, 'cli.mjs'),
  bundle: true,
  // The CLI runs from an install that has the runtime dependencies in node_modules: importing
  // them keeps the build fast and `dependencies` the true list of what runs (native ones included).
  packages: 'external',
  metafile: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  banner,
  sourcemap: 'linked',
  logLevel: 'warning',
  // The dashboard is served from web/ beside dist/; nothing else is read from disk.
  // DuckDB (local_store, search) is a native addon: it is loaded from node_modules, not bundled.
  external: ['@duckdb/node-api'],
});
await writeFile(join(dist, 'cli.meta.json'), JSON.stringify(cli.metafile));
for (const name of cliOnly ? [] : await handlers()) {
  const outdir = join(dist, 'lambda', name);
  await mkdir(outdir, { recursive: true });
  await build({
    entryPoints: [join(root, 'src/runtimes/lambda', `${name}.ts`)],
    outfile: join(outdir, 'index.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    banner,
    minify: true,
    sourcemap: 'linked',
    // The Lambda runtime ships the AWS SDK v3, but bundling pins the version we tested.
    logLevel: 'warning',
    // local_store is for a log host with a disk, not a Lambda; its native addon stays out.
    external: ['@duckdb/node-api'],
  });
  const size = (await stat(join(outdir, 'index.mjs'))).size;
  let line = `lambda ${name}: dist/lambda/${name}/index.mjs (${(size / 1024).toFixed(0)} KiB)`;
  if (zipAll) {
    await zipDir(outdir, join(dist, 'lambda', `${name}.zip`));
    line += `, dist/lambda/${name}.zip`;
  }
  process.stderr.write(`${line}\n`);
}
process.stderr.write('cli: dist/cli.mjs\n');
