import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conformanceEvents } from '../../../test/sink-conformance.js';
import { parseConfig } from '../../config/load.js';
import { memoryLogger } from '../../platform/log.js';
import { LocalStoreSink } from '../../sinks/local_store/index.js';
import { localStoreSinkSchema } from '../../sinks/local_store/schema.js';
import { type CliResult, runCli } from '../../testing/cli.js';
import { freePort } from '../../testing/ports.js';
import { startDaemon } from '../daemon/daemon.js';

let dir: string;
let yaml: string;

function logferry(args: string[]): Promise<CliResult> {
  return runCli(args, { cwd: dir });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-search-cli-'));
  const port = await freePort();
  yaml = `
state: { type: file, path: ${dir}/state }
dead_letter: { type: file, path: ${dir}/dlq }
sources:
  - { name: inbox, type: inbox, path: ${dir}/inbox }
sinks:
  - { name: store, type: local_store, path: ${dir}/store/events.duckdb }
daemon: { status_listen: '127.0.0.1:${port}' }
`;
  await writeFile(join(dir, 'config.yaml'), yaml);
  const sink = new LocalStoreSink(
    localStoreSinkSchema.parse({
      name: 'store',
      type: 'local_store',
      path: join(dir, 'store/events.duckdb'),
    }),
  );
  expect(await sink.write(conformanceEvents(12))).toEqual([]);
  await sink.close();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Each CLI run starts tsx on a shared 2-core machine: a few seconds apiece.
describe('logferry search and query', { timeout: 60_000 }, () => {
  it('opens the store read-only when no daemon runs', async () => {
    const q = await logferry(['query', '-c', 'config.yaml', 'SELECT count(*) AS n FROM events']);
    expect(q.stderr).toBe('');
    expect(q.stdout).toBe('{"n":"12"}\n');
    const s = await logferry(['search', '-c', 'config.yaml', 'labels.n:3', 'OR', 'labels.n:4']);
    expect(
      s.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).labels.n),
    ).toEqual(['4', '3']);
    expect(s.stderr).toMatch(/^2 of 2 events \(store, \d+ ms\)/);
  });

  it('goes through the running daemon, which holds the write lock', async () => {
    const config = parseConfig(yaml, 'config.yaml');
    const daemon = await startDaemon(config, { log: memoryLogger() });
    try {
      expect(
        await daemon.app.sinks.get('store')!.write(conformanceEvents(3, 'conformance.main', 'new')),
      ).toEqual([]);
      const q = await logferry(['query', '-c', 'config.yaml', 'SELECT count(*) AS n FROM events']);
      expect(q.stdout).toBe('{"n":"15"}\n');
      const s = await logferry(['search', '-c', 'config.yaml', 'message:"conformance event 2"']);
      expect(s.stderr).toMatch(/^2 of 2 events \(daemon, \d+ ms\)/);
      const bad = await logferry(['query', '-c', 'config.yaml', 'DELETE FROM events']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/only SELECT statements are allowed/);
    } finally {
      await daemon.stop();
    }
  });

  it('says where a search is wrong', async () => {
    const r = await logferry(['search', '-c', 'config.yaml', 'user.name:"open']);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toBe('logferry: SearchSyntaxError: search: unclosed quote at character 11');
    const limit = await logferry(['search', '-c', 'config.yaml', '--limit', 'lots', 'x']);
    expect(limit.code).toBe(2);
    expect(limit.stderr.trim()).toBe("logferry: config: --limit 'lots' is not a whole number from 0 to 500");
  });

  it('says that the store does not exist yet rather than failing to open it', async () => {
    await writeFile(join(dir, 'fresh.yaml'), yaml.replace('/store/events.duckdb', '/fresh/events.duckdb'));
    const r = await logferry(['query', '-c', 'fresh.yaml', 'SELECT 1']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      `logferry: LocalStoreError: no store at ${dir}/fresh/events.duckdb yet: the daemon creates it with its first events`,
    );
  });
});
