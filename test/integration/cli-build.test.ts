/**
 * The installed CLI: `bin/logferry.mjs` runs the JavaScript built into dist/ (as `npm ci` builds
 * it through `prepare`), with nothing but the runtime dependencies beside it. The layout is
 * rebuilt in a temporary folder: bin/, dist/ from the real build script, src/ (so a bin that
 * still preferred the sources would try to), and a node_modules holding only `dependencies`.
 */
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gzipJson, kinesisLambdaEvent, subscriptionMessage } from '../../src/demo/cwlogs.js';

const ROOT = join(import.meta.dirname, '../..');
const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  scripts: Record<string, string>;
};
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-installed-'));
  await mkdir(join(dir, 'bin'));
  await copyFile(join(ROOT, 'bin/logferry.mjs'), join(dir, 'bin/logferry.mjs'));
  await symlink(join(ROOT, 'src'), join(dir, 'src'));
  // Each runtime dependency resolves its own dependencies from its real folder, as when installed.
  for (const name of Object.keys(pkg.dependencies)) {
    await mkdir(dirname(join(dir, 'node_modules', name)), { recursive: true });
    await symlink(join(ROOT, 'node_modules', name), join(dir, 'node_modules', name));
  }
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'scripts/build.ts'), '--cli-only', '--out', join(dir, 'dist')],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`build failed: ${r.stderr}`);
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function installed(args: string[], input?: Buffer | string) {
  const env = { PATH: process.env.PATH, LOGFERRY_LOG_LEVEL: 'warn' };
  const r = spawnSync(process.execPath, [join(dir, 'bin/logferry.mjs'), ...args], { input, env, cwd: dir });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe('the installed CLI', () => {
  it('keeps build tools and unused packages out of the runtime dependencies', () => {
    for (const name of ['esbuild', 'tsx', '@streamparser/json'])
      expect(pkg.dependencies).not.toHaveProperty(name);
    expect(pkg.devDependencies).toHaveProperty('esbuild');
    expect(pkg.devDependencies).toHaveProperty('tsx');
    expect(pkg.scripts.prepare).toBeDefined();
  });

  it('imports nothing at run time that is not a runtime dependency', async () => {
    const meta = JSON.parse(await readFile(join(dir, 'dist/cli.meta.json'), 'utf8')) as {
      inputs: Record<string, { imports: { path: string; external?: boolean }[] }>;
    };
    const imported = new Set<string>();
    for (const input of Object.values(meta.inputs))
      for (const i of input.imports)
        if (i.external && !i.path.startsWith('node:'))
          imported.add(
            i.path
              .split('/')
              .slice(0, i.path.startsWith('@') ? 2 : 1)
              .join('/'),
          );
    expect(imported.size).toBeGreaterThan(5);
    expect([...imported].filter((name) => !(name in pkg.dependencies))).toEqual([]);
  });

  it('starts `decode` without loading the AWS SDK, OpenSearch, pino or the daemon', async () => {
    const meta = JSON.parse(await readFile(join(dir, 'dist/cli.meta.json'), 'utf8')) as {
      outputs: Record<
        string,
        {
          entryPoint?: string;
          inputs: Record<string, unknown>;
          imports: { path: string; kind: string; external?: boolean }[];
        }
      >;
    };
    const outputs = Object.entries(meta.outputs);
    const holding = (input: string) => outputs.filter(([, o]) => input in o.inputs).map(([file]) => file);
    // What runs for `logferry decode`: the entry and the decode command's chunk, with what they import statically.
    const loaded = new Set<string>();
    const external = new Set<string>();
    const visit = (file: string) => {
      if (loaded.has(file)) return;
      loaded.add(file);
      for (const i of meta.outputs[file]?.imports ?? []) {
        if (i.kind !== 'import-statement') continue;
        if (i.external) external.add(i.path);
        else visit(i.path);
      }
    };
    for (const file of [
      ...holding('src/runtimes/cli/main.ts'),
      ...holding('src/runtimes/cli/decode-command.ts'),
    ])
      visit(file);
    expect(loaded.size).toBeGreaterThan(0);
    expect(
      [...external].filter((p) => /^@aws-sdk|^@opensearch-project|^@smithy|^@duckdb|^pino$/.test(p)),
    ).toEqual([]);
    // zod and commander are bundled: as ~95 files of node_modules they cost ~70 ms of every start.
    expect([...external].filter((p) => /^(zod|commander)(\/|$)/.test(p))).toEqual([]);
    const inputs = new Set([...loaded].flatMap((file) => Object.keys(meta.outputs[file]!.inputs)));
    expect([...inputs].filter((i) => i.includes('runtimes/daemon/'))).toEqual([]);
  });

  it('runs --help from dist/ without tsx', () => {
    const r = installed(['--help']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Commands:[\s\S]*decode[\s\S]*pull/);
  });

  it('decodes a Kinesis Lambda event file to NDJSON', async () => {
    const msg = subscriptionMessage({ kind: 'vpc', count: 4, start: 1_764_000_000_000 });
    await writeFile(join(dir, 'event.json'), JSON.stringify(kinesisLambdaEvent([gzipJson(msg)])));
    const r = installed(['decode', 'event.json']);
    expect(r.code).toBe(0);
    const docs = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { aws: { cloudwatch: { log_group: string } } });
    expect(docs).toHaveLength(4);
    expect(docs[0]!.aws.cloudwatch.log_group).toBe('/vpc/flow-logs');
  });

  it('says how to build when dist/ is missing', async () => {
    await rm(join(dir, 'dist'), { recursive: true, force: true });
    const r = installed(['--help']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/dist\/cli\.mjs is missing: run `npm run build`/);
  });
});
