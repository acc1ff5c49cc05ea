/**
 * Lambda bundles: one esbuild bundle per handler, optionally cut down to the components one
 * config names, with the shipped rules that config loads copied beside it and the source map
 * kept out of the folder that gets zipped. Used by `npm run package` and by the CDK app.
 */
import { createWriteStream } from 'node:fs';
import { cp, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import yazl from 'yazl';
import { parseConfig } from '../src/config/load.js';
import type { Config } from '../src/config/schema.js';
import { ConfigError } from '../src/core/errors.js';
import { ruleFiles } from '../src/rules/load.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const HANDLERS_DIR = join(ROOT, 'src/runtimes/lambda');

// ESM bundles that contain CommonJS dependencies need `require`, `__dirname` and `__filename`.
export const banner = {
  js: [
    "import { createRequire as __lfCreateRequire } from 'node:module';",
    "import { fileURLToPath as __lfToPath } from 'node:url';",
    "import { dirname as __lfDirname } from 'node:path';",
    'const require = __lfCreateRequire(import.meta.url);',
    'const __filename = __lfToPath(import.meta.url);',
    'const __dirname = __lfDirname(__filename);',
  ].join('\n'),
};

/** Which source types each handler feeds (the others would fail at `pickSource`). */
export const HANDLER_SOURCES: Record<string, string[]> = {
  duo: ['duo'],
  kinesis: ['kinesis'],
  firehose: ['kinesis'],
  // A log group subscribed straight to the function: the config names a kinesis source (or its first).
  cwlogs: ['kinesis'],
  s3: ['s3_sqs'],
  sqs: ['s3_sqs'],
};

/** Every module in src/runtimes/lambda that exports a `handler` (the others are shared helpers). */
export async function handlerNames(): Promise<string[]> {
  const names: string[] = [];
  for (const f of await readdir(HANDLERS_DIR)) {
    if (!f.endsWith('.ts') || f.endsWith('.test.ts') || f.endsWith('.d.ts')) continue;
    if (/export (async )?function handler\b/.test(await readFile(join(HANDLERS_DIR, f), 'utf8')))
      names.push(f.slice(0, -3));
  }
  return names.sort();
}

/**
 * A stand-in for a variable the deployment sets later: it passes every validation (hostnames,
 * URLs, names; SNS topic ARNs for `*_ARN`, URLs for `*_ENDPOINT` and `*_URL`) and cannot occur by chance, so it can be swapped back.
 */
export function standIn(name: string): string {
  if (/(^|_)REGION$/.test(name)) return 'us-east-1';
  const m = `lfvar-${name.toLowerCase().replace(/_/g, '-')}-lfvar`;
  if (name.endsWith('_ARN')) return `arn:aws:sns:us-east-1:000000000000:${m}`;
  if (/_(ENDPOINT|URL)$/.test(name)) return `https://${m}.invalid`;
  return m;
}

/** Parses a config for its shape only: unset variables get their stand-in. */
export function configShape(
  text: string,
  name: string,
  env: Record<string, string | undefined> = {},
): Config {
  return parseConfig(text, name, new Proxy(env, { get: (t, k: string) => t[k] ?? standIn(k) }));
}

/** The files whose `import()` calls pick components; only these are rewritten. */
const LAZY_FILES =
  /[\\/]src[\\/](registry|alerts[\\/]registry|parsers[\\/]registry|app|rules[\\/]detector|config[\\/]secrets)\.ts$/;

interface LazyImport {
  file: string;
  section: string;
  name: string;
  spec: string;
}

/** The `name: … import('spec')` entries of the registries, by exported table. */
async function registryImports(): Promise<LazyImport[]> {
  const out: LazyImport[] = [];
  for (const rel of ['src/registry.ts', 'src/parsers/registry.ts', 'src/alerts/registry.ts']) {
    const text = await readFile(join(ROOT, rel), 'utf8');
    for (const part of text.split(/^export const /m).slice(1)) {
      const section = /^\w+/.exec(part)?.[0] ?? '';
      for (const m of part.matchAll(/^\s+(\w+): (?:\{ schema: \w+, load: )?\(\) => import\('([^']+)'\)/gm))
        out.push({ file: rel, section, name: m[1]!, spec: m[2]! });
    }
  }
  return out;
}

/** Every value of a `parser` key in a source config (formats included); undefined when one is unset. */
function sourceParsers(config: Config): Set<string> | undefined {
  const names = new Set<string>();
  let unknown = false;
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        if (k === 'parser' && typeof x === 'string') names.add(x);
        else walk(x);
      }
  };
  for (const s of config.sources) {
    // Each Duo log has its own parser; the source's `parser` field is not read.
    if (s.type === 'duo') {
      for (const p of ['duo_auth', 'duo_admin', 'duo_telephony']) names.add(p);
      continue;
    }
    if (!('parser' in s) || typeof s.parser !== 'string') unknown = true;
    walk(s);
  }
  // `auto` sniffs the content and hands over to any parser.
  return unknown || names.has('auto') ? undefined : names;
}

/** Secret references (`{aws_secretsmanager: …}`, `{ssm: …}`) anywhere in the config. */
export function secretRefs(config: unknown): { secretsManager: string[]; ssm: string[] } {
  const found = { secretsManager: [] as string[], ssm: [] as string[] };
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.aws_secretsmanager === 'string') found.secretsManager.push(o.aws_secretsmanager);
      else if (typeof o.ssm === 'string' && Object.keys(o).length === 1) found.ssm.push(o.ssm);
      else Object.values(o).forEach(walk);
    }
  };
  walk(config);
  return found;
}

/** The lazy imports a bundle for this config can leave out, as specifiers per file. */
export async function unusedImports(config: Config): Promise<Map<string, Set<string>>> {
  const parsers = sourceParsers(config);
  const used: Record<string, Set<string> | undefined> = {
    sources: new Set(config.sources.map((s) => s.type)),
    sinks: new Set(config.sinks.map((s) => s.type)),
    stateStores: new Set([config.state.type]),
    deadLetterStores: new Set([config.dead_letter.type]),
    parsers,
    alertOutputs: new Set((config.alerts?.outputs ?? []).map((o) => o.type)),
  };
  const drop = new Map<string, Set<string>>();
  const add = (file: string, spec: string) => {
    const set = drop.get(file) ?? new Set<string>();
    set.add(spec);
    drop.set(file, set);
  };
  for (const imp of await registryImports()) {
    const keep = used[imp.section];
    if (keep && !keep.has(imp.name)) add(imp.file, imp.spec);
  }
  if (!config.rules) add('src/app.ts', './rules/detector.js');
  if (config.rules?.window_store.type !== 'dynamodb') {
    add('src/rules/detector.ts', './dynamodb-store.js');
    add('src/rules/detector.ts', '@aws-sdk/client-dynamodb');
  }
  const secrets = secretRefs(config);
  if (!secrets.ssm.length) add('src/config/secrets.ts', '@aws-sdk/client-ssm');
  if (!secrets.secretsManager.length) add('src/config/secrets.ts', '@aws-sdk/client-secrets-manager');
  return drop;
}

/** Replaces `import('spec')` of left-out components with a rejection that says why. */
export function pruneImportsPlugin(drop: Map<string, Set<string>>): Plugin {
  return {
    name: 'logferry-prune-imports',
    setup(b) {
      b.onLoad({ filter: LAZY_FILES }, async (args) => {
        const rel = relative(ROOT, args.path).split('\\').join('/');
        let contents = await readFile(args.path, 'utf8');
        for (const spec of drop.get(rel) ?? []) {
          const msg = JSON.stringify(
            `${spec} is not in this bundle: it was built for a config that does not use it`,
          );
          contents = contents.split(`import('${spec}')`).join(`Promise.reject(new Error(${msg}))`);
        }
        return { contents, loader: 'ts' };
      });
    },
  };
}

/**
 * zod's namespace export carries its ~45 message locales (≈ 40% of zod in a bundle, all parsed at
 * every cold start); logferry's messages are English: only `en` stays, under the same names.
 */
export function zodEnglishOnlyPlugin(): Plugin {
  return {
    name: 'logferry-zod-english-only',
    setup(b) {
      b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
        /[\\/]node_modules[\\/]zod[\\/]/.test(args.importer)
          ? { path: join(dirname(args.importer), '../locales/en.js'), namespace: 'zod-en' }
          : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: 'zod-en' }, (args) => ({
        contents: `export { default as en } from ${JSON.stringify(args.path)};`,
        resolveDir: dirname(args.path),
        loader: 'js',
      }));
    },
  };
}

export interface BundleOptions {
  handler: string;
  /** The folder to zip: index.mjs and, with a config that has rules, the rule files. */
  outdir: string;
  /** Where index.mjs.map goes (never inside outdir). */
  mapdir?: string;
  /** Cut the bundle down to this config's components and copy its rules. */
  config?: Config;
  /** Rule paths in the config are relative to this folder (the working directory of `logferry`). */
  rulesBase?: string;
  /** Leave `@aws-sdk/*` out and use the copy in the Lambda runtime. */
  externalSdk?: boolean;
}

export interface BundleResult {
  /** index.mjs and its chunks together. */
  bytes: number;
  rules: string[];
}

export async function bundleLambda(opts: BundleOptions): Promise<BundleResult> {
  await rm(opts.outdir, { recursive: true, force: true });
  await mkdir(opts.outdir, { recursive: true });
  const drop = opts.config ? await unusedImports(opts.config) : new Map<string, Set<string>>();
  await build({
    entryPoints: { index: join(HANDLERS_DIR, `${opts.handler}.ts`) },
    outdir: opts.outdir,
    outExtension: { '.js': '.mjs' },
    // Components, SDK clients and stores the registry imports lazily become chunks of their own:
    // the init phase parses only the handler's core; a chunk is read when the app first needs it.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    banner,
    minify: true,
    // The maps are a separate artifact (4× the bundle): stack traces are decoded offline with them.
    sourcemap: opts.mapdir ? 'external' : false,
    // local_store is for a log host with a disk, not a Lambda: its native addon stays out.
    external: ['@duckdb/node-api', ...(opts.externalSdk ? ['@aws-sdk/*', '@smithy/*'] : [])],
    plugins: [pruneImportsPlugin(drop), zodEnglishOnlyPlugin()],
    logLevel: 'warning',
  });
  const code = await filesBelow(opts.outdir);
  if (opts.mapdir)
    for (const f of code.filter((x) => x.endsWith('.map'))) {
      await mkdir(dirname(join(opts.mapdir, f)), { recursive: true });
      await rename(join(opts.outdir, f), join(opts.mapdir, f));
    }
  let bytes = 0;
  for (const f of code.filter((x) => x.endsWith('.mjs'))) bytes += (await stat(join(opts.outdir, f))).size;
  const rules = opts.config?.rules
    ? await copyRules(opts.config.rules.paths, opts.rulesBase ?? ROOT, opts.outdir)
    : [];
  return { bytes, rules };
}

/** Paths of the files below a folder, relative to it, with / separators. */
async function filesBelow(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const f of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (f.isFile()) out.push(relative(dir, join(f.parentPath, f.name)).split('\\').join('/'));
  return out.sort();
}

/** Copies the rule files the config loads to the same relative paths beside the handler (Lambda's cwd). */
async function copyRules(paths: string[], base: string, outdir: string): Promise<string[]> {
  const copied: string[] = [];
  for (const p of paths) {
    if (isAbsolute(p) || p.split(/[\\/]/).includes('..'))
      throw new ConfigError(
        `rules.paths '${p}': a Lambda bundle needs a path inside the project, relative to it`,
      );
    for (const f of await ruleFiles([join(base, p)])) {
      const rel = relative(base, f);
      await mkdir(dirname(join(outdir, rel)), { recursive: true });
      await cp(f, join(outdir, rel));
      copied.push(rel.split('\\').join('/'));
    }
  }
  return copied;
}

/** Zips a folder (recursively) with fixed timestamps, so the same bundle gives the same zip hash. */
export async function zipDir(dir: string, out: string): Promise<number> {
  const zip = new yazl.ZipFile();
  const walk = async (d: string): Promise<void> => {
    for (const f of (await readdir(d, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const full = join(d, f.name);
      if (f.isDirectory()) await walk(full);
      else zip.addFile(full, relative(dir, full).split('\\').join('/'), { mtime: new Date(0) });
    }
  };
  await walk(dir);
  zip.end();
  await new Promise<void>((resolve, reject) => {
    zip.outputStream.pipe(createWriteStream(out)).on('close', resolve).on('error', reject);
  });
  return (await stat(out)).size;
}
