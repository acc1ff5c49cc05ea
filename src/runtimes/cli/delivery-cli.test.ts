import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileDeadLetterStore } from '../../deadletter/file/index.js';
import { type CliResult, runCli } from '../../testing/cli.js';
import { OpenSearchFake } from '../../testing/opensearch-fake.js';

let dir: string;
let fake: OpenSearchFake;

function logferry(args: string[]): Promise<CliResult> {
  return runCli(args, { cwd: dir, env: { OS_PASSWORD: 'cli-secret-pw' } });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-delivery-cli-'));
  fake = await new OpenSearchFake({ auth: { basic: { username: 'lf', password: 'cli-secret-pw' } } }).start();
  await writeFile(
    join(dir, 'config.yaml'),
    `dead_letter: {type: file, path: ${join(dir, 'dlq')}}
state: {type: file, path: ${join(dir, 'state')}}
sources: [{name: app, type: inbox, path: ${join(dir, 'inbox')}}]
sinks:
  - name: search
    type: opensearch
    endpoint: ${fake.url}
    auth: {basic: {username: lf, password: {env: OS_PASSWORD}}}
`,
  );
});
afterAll(async () => {
  await fake?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('logferry setup opensearch / replay', () => {
  it('installs the template, then replays a dead letter and removes it', async () => {
    const setup = await logferry(['setup', 'opensearch', '--config', 'config.yaml']);
    expect(setup.stderr).toBe('');
    expect(setup.stdout).toBe(
      `search: index template 'logferry-ecs' for logs-*-* installed on ${fake.url}\n`,
    );
    expect(fake.templates.has('logferry-ecs')).toBe(true);

    const store = new FileDeadLetterStore(join(dir, 'dlq'));
    const event = {
      id: 'cli-replay-1',
      dataset: 'app.audit',
      timestamp: Date.parse('2026-11-25T10:00:00Z'),
      doc: { '@timestamp': '2026-11-25T10:00:00.000Z', message: 'hello' },
      origin: { source: 'app', type: 'inbox', ref: 'inbox/a.jsonl' },
    };
    const id = await store.put({
      kind: 'event',
      source: 'app',
      sink: 'search',
      origin: event.origin,
      error: 'search: deliver: HTTP 503',
      retryable: false,
      attempts: 5,
      event,
    });
    const r = await logferry(['replay', '--config', 'config.yaml', '--since', '2026-01-01']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`replayed ${id} → search\n`);
    expect(r.stderr).toBe('replayed 1, kept 0, skipped 0\n');
    expect(fake.docs().map((d) => [d.index, d.id])).toEqual([['logs-app.audit-2026.11.25', 'cli-replay-1']]);
    expect(await readdir(join(dir, 'dlq', id.slice(0, 10)))).toEqual([]);
    expect(`${setup.stdout}${r.stdout}${r.stderr}`).not.toContain('cli-secret-pw');
  });

  it('says in one line what is wrong with --since and with a config without opensearch', async () => {
    const bad = await logferry(['replay', '--config', 'config.yaml', '--since', 'yesterday']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      "logferry: config: --since 'yesterday' is not a date (use e.g. 2026-11-25 or 2026-11-25T10:00:00Z)\n",
    );
    const none = await logferry(['setup', 'opensearch', '--config', 'config.yaml', '--sink', 'other']);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe("logferry: config: no opensearch sink named 'other' in the config\n");
  });
});
