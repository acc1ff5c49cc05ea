import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../app.js';
import { parseConfig } from '../../config/load.js';
import type { LogEvent } from '../../core/event.js';
import { memoryLogger } from '../../platform/log.js';
import { type ReplayProgress, replay } from './replay.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-replay-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A line logferry wrote earlier, with its own dataset and id, set aside as an item dead letter. */
const ownLine = JSON.stringify({
  '@timestamp': '2026-11-25T10:00:00.000Z',
  event: { dataset: 'app.audit', id: 'Q2xhaW1lZElkMDAwMDAwMDAwMDAw' },
  n: 1,
});

async function replayUnder(trust: boolean) {
  const out = join(dir, `out-${trust}`);
  const config = parseConfig(
    `
state: { type: file, path: ${join(dir, 'state')} }
dead_letter: { type: file, path: ${join(dir, `dlq-${trust}`)} }
sources: [{ name: back, type: inbox, path: ${join(dir, 'in')}, parser: json_lines, trust_event_fields: ${trust} }]
sinks: [{ name: files, type: daily_files, path: ${out}, fsync: false, retention_days: 0 }]
`,
    'c.yaml',
    {},
  );
  const app = await buildApp(config, { log: memoryLogger() });
  await app.deadLetter.put({
    kind: 'item',
    source: 'back',
    origin: { source: 'back', type: 'file', ref: 'in/day.jsonl line 1' },
    error: 'parse: earlier failure',
    retryable: false,
    attempts: 1,
    parser: 'json_lines',
    data: Buffer.from(ownLine).toString('base64'),
  });
  const sum = await replay(app, { report: () => {} });
  await app.close();
  const [folder] = await readdir(out);
  const [file] = await readdir(join(out, folder!));
  const doc = JSON.parse(await readFile(join(out, folder!, file!), 'utf8'));
  return { sum, event: doc.event as { dataset: string; id: string } };
}

describe('replay of item dead letters and trust', () => {
  it("parses again under the source's own trust_event_fields", async () => {
    const trusted = await replayUnder(true);
    expect(trusted.sum).toMatchObject({ replayed: 1, kept: 0 });
    expect(trusted.event).toEqual({ dataset: 'app.audit', id: 'Q2xhaW1lZElkMDAwMDAwMDAwMDAw' });
    const untrusted = await replayUnder(false);
    expect(untrusted.sum).toMatchObject({ replayed: 1, kept: 0 });
    expect(untrusted.event.dataset).toBe('generic.json');
    expect(untrusted.event.id).not.toBe('Q2xhaW1lZElkMDAwMDAwMDAwMDAw');
  });
});

let app: App;
async function progressApp(): Promise<App> {
  return buildApp(
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
}

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
  beforeEach(async () => {
    app = await progressApp();
  });
  afterEach(async () => {
    await app.close();
  });
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
