import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conformanceEvents } from '../../../../test/sink-conformance.js';
import { parseConfig } from '../../../config/load.js';
import { memoryLogger } from '../../../platform/log.js';
import { type Daemon, startDaemon } from '../daemon.js';

let dir: string;
let daemon: Daemon;
let url: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-api-'));
  const config = parseConfig(
    `
state: { type: file, path: ${dir}/state }
dead_letter: { type: file, path: ${dir}/dlq }
sources:
  - { name: inbox, type: inbox, path: ${dir}/inbox }
sinks:
  - { name: daily, type: daily_files, path: ${dir}/logs, retention_days: 0 }
daemon: { status_listen: '127.0.0.1:0' }
`,
    'api.yaml',
  );
  daemon = await startDaemon(config, { log: memoryLogger() });
  url = `http://127.0.0.1:${(daemon.server!.address() as AddressInfo).port}`;
  expect(await daemon.app.sinks.get('daily')!.write(conformanceEvents(5))).toEqual([]);
});
afterAll(async () => {
  await daemon?.stop();
  await rm(dir, { recursive: true, force: true });
});

const post = (path: string, body: unknown) =>
  fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('search API without a local store', () => {
  it('searches the day files', async () => {
    const r = (await (await fetch(`${url}/api/search?q=labels.n:3`)).json()) as {
      backend: string;
      total: number;
      hits: { doc: { labels: { n: string } } }[];
    };
    expect(r.backend).toBe('files');
    expect(r.total).toBe(1);
    expect(r.hits[0]!.doc.labels.n).toBe('3');
  });

  it('answers a bad search with 400 and the reason', async () => {
    const res = await fetch(`${url}/api/search?q=${encodeURIComponent('a:(')}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/^search: /);
    const limit = await fetch(`${url}/api/search?limit=100000`);
    expect(limit.status).toBe(400);
  });

  it('offers no SQL over the day files, since that database can read any file', async () => {
    const res = await post('/api/query', { sql: "SELECT * FROM read_text('/etc/passwd')" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/SQL needs a local_store sink/);
  });

  it('lists dead letters without their stored bytes, and says when a replay id is unknown', async () => {
    await daemon.app.deadLetter.put({
      kind: 'item',
      source: 'inbox',
      origin: { source: 'inbox', type: 'inbox', ref: `${dir}/inbox/secret.log` },
      error: 'parse: not a known format',
      retryable: false,
      attempts: 1,
      data: Buffer.from('password=hunter2').toString('base64'),
    });
    const text = await (await fetch(`${url}/api/dead-letters`)).text();
    expect((JSON.parse(text) as { dead_letters: unknown[] }).dead_letters).toHaveLength(1);
    expect(text).not.toContain(Buffer.from('password=hunter2').toString('base64'));
    const res = await post('/api/dead-letters/replay', { id: 'no-such-id' });
    expect(res.status).toBe(404);
  });

  it('rejects a replay body that is not the expected JSON', async () => {
    const res = await post('/api/dead-letters/replay', { id: 'x', extra: 1 });
    expect(res.status).toBe(400);
  });
});
