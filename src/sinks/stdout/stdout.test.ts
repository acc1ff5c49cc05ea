import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { LogEvent } from '../../core/event.js';
import { finalizeEvent } from '../../core/pipeline.js';
import { releasesWrittenBytes, StdoutSink } from './index.js';

/** What each format writes, spelled with JSON.stringify alone. */
function expected(evs: LogEvent[], format: 'doc' | 'envelope'): string {
  return evs
    .map((e) =>
      JSON.stringify(
        format === 'doc' ? e.doc : { id: e.id, dataset: e.dataset, origin: e.origin, doc: e.doc },
      ),
    )
    .map((l) => `${l}\n`)
    .join('');
}

const origin = { source: 's', type: 'file', ref: 'f' };
function events(from: number, n: number): LogEvent[] {
  return Array.from({ length: n }, (_, i) =>
    finalizeEvent(
      {
        dataset: 'app',
        timestamp: 1.764e12 + from + i,
        doc: { message: `m${from + i} ü` },
        idParts: [from + i],
      },
      origin,
    ),
  );
}

describe('StdoutSink', () => {
  it('never writes over bytes a stream keeps (a PassThrough, a collector)', async () => {
    const kept: Buffer[] = [];
    const collector = new Writable({
      write(chunk: Buffer, _enc, done) {
        kept.push(chunk); // kept as given, not copied
        done();
      },
    });
    expect(releasesWrittenBytes(collector)).toBe(false);
    expect(releasesWrittenBytes(new PassThrough())).toBe(false);
    const sink = new StdoutSink('out', 'doc', collector);
    await sink.write(events(0, 50));
    await sink.write(events(50, 50));
    expect(Buffer.concat(kept).toString()).toBe(expected(events(0, 100), 'doc'));
  });

  it('writes a file right while encoding write after write into one buffer', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'logferry-stdout-'));
    try {
      const path = join(dir, 'out.ndjson');
      const file = createWriteStream(path);
      expect(releasesWrittenBytes(file)).toBe(true);
      expect(releasesWrittenBytes(process.stdout)).toBe(true);
      const sink = new StdoutSink('out', 'envelope', file);
      for (let i = 0; i < 5; i++) await sink.write(events(i * 300, 300));
      await new Promise<void>((r) => file.end(r));
      const text = await readFile(path, 'utf8');
      expect(text).toBe(expected(events(0, 1500), 'envelope'));
      const first = JSON.parse(text.slice(0, text.indexOf('\n'))) as Record<string, unknown>;
      expect(Object.keys(first)).toEqual(['id', 'dataset', 'origin', 'doc']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
