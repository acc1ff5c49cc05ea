import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../app.js';
import { parseConfig } from '../../config/load.js';
import type { LogEvent } from '../../core/event.js';
import { memoryLogger } from '../../core/log.js';
import { type ReplayProgress, replay } from './replay.js';

let dir: string;
let app: App;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-replay-'));
  app = await buildApp(
    parseConfig(
      `state: { type: file, path: ${join(dir, 'state')} }
dead_letter: { type: file, path: ${join(dir, 'dlq')} }
sources: [{ name: inbox, type: inbox, path: ${join(dir, 'in')} }]
sinks: [{ name: daily, type: daily_files, path: ${join(dir, 'logs')}, retention_days: 0, fsync: false }]
`,
      'replay.yaml',
      {},
    ),
    { log: memoryLogger() },
  );
});
afterEach(async () => {
  await app.close();
  await rm(dir, { recursive: true, force: true });
});

function event(n: number): LogEvent {
  const id = `ev-${n}`;
  const t = 1_764_000_000_000 + n;
  return {
    id,
    dataset: 'generic.json',
    timestamp: t,
    doc: { '@timestamp': new Date(t).toISOString(), event: { id, dataset: 'generic.json' }, n },
    origin: { source: 'inbox', type: 'file', ref: `in/a.jsonl line ${n}` },
  };
}

describe('replay progress', () => {
  it('reports the counts after every dead letter read, ending with the summary', async () => {
    for (let n = 1; n <= 3; n++) {
      const ev = event(n);
      await app.deadLetter.put({
        kind: 'event',
        source: 'inbox',
        sink: 'daily',
        origin: ev.origin,
        error: 'daily: disk full',
        retryable: false,
        attempts: 1,
        event: ev,
      });
    }
    await app.deadLetter.put({
      kind: 'alert',
      source: 'rules',
      origin: { source: 'rules', type: 'alert', ref: 'rule x' },
      error: 'slack: 500',
      retryable: true,
      attempts: 1,
    });
    const seen: ReplayProgress[] = [];
    const sum = await replay(app, { report: () => {}, progress: (c) => seen.push(c) });
    expect(sum).toEqual({ replayed: 3, kept: 0, skipped: 1 });
    expect(seen.map((c) => c.read)).toEqual([1, 2, 3, 4, 4]);
    expect(seen.at(-1)).toEqual({ read: 4, replayed: 3, kept: 0, skipped: 1 });
  });
});
