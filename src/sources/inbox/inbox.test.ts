import { readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SourceContext } from '../../core/component.js';
import { defaultLimits } from '../../core/limits.js';
import { runBatch } from '../../core/pipeline.js';
import { gzipJson, kinesisLambdaEvent, subscriptionMessage } from '../../demo/cwlogs.js';
import { withEnvelopes } from '../../formats/envelope.js';
import { AutoParser } from '../../parsers/auto/index.js';
import { memoryLogger } from '../../platform/log.js';
import { DecodePool } from '../../runtimes/daemon/decode/pool.js';
import { MemorySink, MemoryStateStore, testPipeline } from '../../testing/memory.js';
import { InboxSource } from './index.js';
import { type InboxSourceConfig, inboxSourceSchema } from './schema.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-inbox-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function setup(sink = new MemorySink()) {
  const cfg = inboxSourceSchema.parse({ name: 'inbox', type: 'inbox', path: join(dir, 'in'), settle: 0 });
  const source = new InboxSource(cfg);
  const p = testPipeline({ parser: new AutoParser(), sinks: [sink] });
  const ctx: SourceContext = {
    state: new MemoryStateStore(),
    signal: new AbortController().signal,
    limits: defaultLimits,
    log: memoryLogger(),
    process: (b) => runBatch(b, p),
  };
  return { source, ctx, sink, p };
}

describe('inbox source', () => {
  it('ingests dropped files oldest first and moves them to .done', async () => {
    const { source, ctx, sink } = setup();
    await mkdir(join(dir, 'in'));
    await writeFile(
      join(dir, 'in', 'a.gz'),
      gzipJson(subscriptionMessage({ kind: 'app', count: 3, start: 1_764_000_000_000 })),
    );
    await writeFile(join(dir, 'in', 'b.jsonl'), '{"a":1}\n{"a":2}\n');
    await writeFile(join(dir, 'in', '.hidden'), 'x');
    await writeFile(join(dir, 'in', 'c.part'), 'still copying');
    const ready = await source.readyFiles(Date.now() + 1000);
    expect(ready).toEqual(['a.gz', 'b.jsonl']);
    for (const f of ready) expect(await source.ingest(f, ctx)).toBe(true);
    expect(sink.byId.size).toBe(5);
    expect((await readdir(join(dir, 'in'))).sort()).toEqual(['.done', '.hidden', 'c.part']);
    expect((await readdir(join(dir, 'in', '.done'))).sort()).toEqual(['a.gz', 'b.jsonl']);
  });

  it('leaves a file in place and backs off when delivery fails', async () => {
    const { source, ctx } = setup(new MemorySink().failNext(100, true));
    await mkdir(join(dir, 'in'));
    await writeFile(join(dir, 'in', 'a.jsonl'), '{"a":1}\n');
    expect(await source.ingest('a.jsonl', ctx)).toBe(false);
    expect(await readdir(join(dir, 'in'))).toEqual(['a.jsonl']);
    expect(await source.readyFiles(Date.now() + 1)).toEqual([]);
    expect(source.status().files_retrying).toBe(1);
  });

  it('moves a corrupt file out of the way once it is dead-lettered', async () => {
    const { source, ctx, p } = setup();
    await mkdir(join(dir, 'in'));
    await writeFile(join(dir, 'in', 'broken.gz'), gzipJson({ x: 1 }).subarray(0, 15));
    expect(await source.ingest('broken.gz', ctx)).toBe(true);
    expect(p.deadLetter.entries).toHaveLength(1);
    expect(p.deadLetter.entries[0]!.error).toContain('broken.gz');
  });

  it('skips symlinks and anything else that is not a regular file, and says so once', async () => {
    const { source, ctx, sink } = setup();
    const log = memoryLogger();
    await mkdir(join(dir, 'in'));
    await writeFile(join(dir, 'secret.txt'), '{"password":"hunter2"}\n');
    await symlink(join(dir, 'secret.txt'), join(dir, 'in', 'link.jsonl'));
    await mkdir(join(dir, 'in', 'folder'));
    await writeFile(join(dir, 'in', 'real.jsonl'), '{"a":1}\n');
    expect(await source.readyFiles(Date.now() + 1000, log)).toEqual(['real.jsonl']);
    expect(await source.readyFiles(Date.now() + 1000, log)).toEqual(['real.jsonl']);
    expect(log.entries.map((e) => [e.level, e.msg]).sort()).toEqual([
      ['warn', `skipping ${join(dir, 'in', 'folder')}: a folder; the inbox reads regular files only`],
      [
        'warn',
        `skipping ${join(dir, 'in', 'link.jsonl')}: a symbolic link; the inbox reads regular files only`,
      ],
    ]);
    // Named directly (a link swapped in after the listing), it is still not read.
    expect(await source.ingest('link.jsonl', ctx)).toBe(false);
    expect(sink.byId.size).toBe(0);
    expect(await readlink(join(dir, 'in', 'link.jsonl'))).toBe(join(dir, 'secret.txt'));
  });

  it('does not follow a symlink swapped in between the listing and the read', async () => {
    const { source, ctx, sink, p } = setup();
    await mkdir(join(dir, 'in'));
    await writeFile(join(dir, 'secret.txt'), '{"password":"hunter2"}\n');
    await writeFile(join(dir, 'in', 'a.jsonl'), '{"a":1}\n');
    const real = ctx.process;
    ctx.process = async (b) => {
      await rm(join(dir, 'in', 'a.jsonl'));
      await symlink(join(dir, 'secret.txt'), join(dir, 'in', 'a.jsonl'));
      return real(b);
    };
    await source.ingest('a.jsonl', ctx);
    expect(sink.byId.size).toBe(0);
    expect(p.deadLetter.entries.map((e) => e.error)).toEqual([
      `source ${join(dir, 'in', 'a.jsonl')}: ${join(dir, 'in', 'a.jsonl')} is a symbolic link; not read`,
    ]);
    expect(JSON.stringify(p.deadLetter.entries)).not.toContain('hunter2');
  });

  it('reads a Lambda event dropped as a file with a configured parser, not only auto', async () => {
    const { buildApp } = await import('../../app.js');
    const { parseConfig } = await import('../../config/load.js');
    const config = parseConfig(
      `
state: { type: file, path: ${join(dir, 'state')} }
dead_letter: { type: file, path: ${join(dir, 'dlq')} }
sources:
  - { name: drop, type: inbox, path: ${join(dir, 'in')}, settle: 0, parser: cloudwatch_logs }
sinks:
  - { name: out, type: daily_files, path: ${join(dir, 'out')}, retention_days: 0 }
`,
      'test',
    );
    const app = await buildApp(config, { log: memoryLogger() });
    const source = new InboxSource(config.sources[0] as InboxSourceConfig);
    await mkdir(join(dir, 'in'));
    const msg = gzipJson(subscriptionMessage({ kind: 'app', count: 3, start: 1_764_000_000_000 }));
    await writeFile(join(dir, 'in', 'event.json'), JSON.stringify(kinesisLambdaEvent([msg])));
    const ctx: SourceContext = {
      state: app.state,
      signal: new AbortController().signal,
      limits: defaultLimits,
      log: memoryLogger(),
      process: (b) => runBatch(b, app.pipeline),
    };
    expect(await source.ingest('event.json', ctx)).toBe(true);
    await app.close();
    // One folder per dataset: the records were decoded, not stored as one generic document.
    expect(await readdir(join(dir, 'out'))).toEqual(['aws.cloudwatch_logs']);
  });

  it('runs the folder as one unit: a file that keeps failing waits for its retry while later files pass', async () => {
    const sink = new MemorySink().failNext(1000, true, (_, e) => e.origin.ref.endsWith('a.jsonl'));
    const { source, ctx } = setup(sink);
    const stop = new AbortController();
    ctx.signal = stop.signal;
    await mkdir(join(dir, 'in'));
    await writeFile(join(dir, 'in', 'a.jsonl'), '{"a":1}\n');
    await writeFile(join(dir, 'in', 'b.jsonl'), '{"b":1}\n{"b":2}\n');
    const running = source.run(ctx);
    while (sink.byId.size < 2) await new Promise((r) => setTimeout(r, 5));
    const unit = source.units()[0]!;
    while (unit.status().items < 1) await new Promise((r) => setTimeout(r, 5));
    stop.abort();
    await running;
    expect(await readdir(join(dir, 'in', '.done'))).toEqual(['b.jsonl']);
    expect((await readdir(join(dir, 'in'))).sort()).toEqual(['.done', 'a.jsonl']);
    expect(source.status()).toMatchObject({ files_processed: 1, files_retrying: 1 });
    expect(unit.status()).toMatchObject({ unit: 'inbox', state: 'stopped', items: 1 });
    expect(unit.lastError).toContain('destination busy');
  });
});

describe('inbox source, several files per delivery', () => {
  const until = async (done: () => boolean) => {
    while (!done()) await new Promise((r) => setTimeout(r, 5));
  };

  it('hands the ready files to one delivery, each still settled on its own', async () => {
    const sink = new MemorySink().failNext(1000, true, (_, e) => e.origin.ref.endsWith('b.jsonl'));
    const { source, ctx } = setup(sink);
    const stop = new AbortController();
    ctx.signal = stop.signal;
    const deliveries: number[] = [];
    const process = ctx.process;
    ctx.process = (b, cap) => {
      deliveries.push(b.items.length);
      return process(b, cap);
    };
    await mkdir(join(dir, 'in'));
    for (const name of ['a', 'b', 'c']) await writeFile(join(dir, 'in', `${name}.jsonl`), `{"${name}":1}\n`);
    const running = source.run(ctx);
    await until(() => source.status().files_processed === 2);
    stop.abort();
    await running;
    expect(deliveries[0]).toBe(3);
    expect((await readdir(join(dir, 'in', '.done'))).sort()).toEqual(['a.jsonl', 'c.jsonl']);
    expect((await readdir(join(dir, 'in'))).sort()).toEqual(['.done', 'b.jsonl']);
    expect(source.status()).toMatchObject({ files_processed: 2, files_retrying: 1 });
  });

  it('in decode workers, still moves each file that reaches the event cap before the next is delivered', async () => {
    const spec = {
      routes: { inbox: { parser: 'auto', options: {}, envelope: true, trustEventFields: false } },
      transforms: [],
      limits: defaultLimits,
      chunkEvents: 1000,
    };
    const pool = new DecodePool(spec, 2);
    try {
      const sink = new MemorySink();
      const p = testPipeline({ parser: withEnvelopes(new AutoParser()), sinks: [sink] }, { decoder: pool });
      const cfg = inboxSourceSchema.parse({ name: 'inbox', type: 'inbox', path: join(dir, 'in'), settle: 0 });
      const source = new InboxSource(cfg);
      const stop = new AbortController();
      const deliveries: number[] = [];
      const ctx: SourceContext = {
        state: new MemoryStateStore(),
        signal: stop.signal,
        limits: defaultLimits,
        log: memoryLogger(),
        process: (b, cap) => {
          deliveries.push(b.items.length);
          return runBatch(b, p, undefined, cap);
        },
      };
      // Each file holds more events than the cap (5,000): a delivery ends after each.
      const names = ['a.txt', 'b.txt', 'c.txt'];
      await mkdir(join(dir, 'in'));
      for (const [f, name] of names.entries()) {
        const lines = Array.from({ length: 51 }, (_, i) =>
          gzipJson(
            subscriptionMessage({ kind: 'app', count: 100, start: 1_764_000_000_000 + f * 1e6 + i * 1e3 }),
          ).toString('base64'),
        );
        await writeFile(join(dir, 'in', name), `${lines.join('\n')}\n`);
      }
      const writes: { files: string[]; done: string[] }[] = [];
      const write = sink.write.bind(sink);
      sink.write = (events) => {
        const files = new Set(events.map((e) => basename(e.origin.ref.split(' ')[0]!)));
        writes.push({
          files: [...files],
          done: readdirSync(join(dir, 'in', '.done')),
        });
        return write(events);
      };
      await mkdir(join(dir, 'in', '.done'));
      const running = source.run(ctx);
      await until(() => source.status().files_processed === 3);
      stop.abort();
      await running;
      expect(deliveries).toEqual([3, 2, 1]);
      expect(sink.byId.size).toBe(3 * 5100);
      for (const w of writes) {
        expect(w.files).toHaveLength(1);
        expect(w.done.sort()).toEqual(names.slice(0, names.indexOf(w.files[0]!)));
      }
      expect(pool.keptCount).toBe(0);
    } finally {
      await pool.close();
    }
  });
});
