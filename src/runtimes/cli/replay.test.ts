import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../app.js';
import { parseConfig } from '../../config/load.js';
import { memoryLogger } from '../../core/log.js';
import { replay } from './replay.js';

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
