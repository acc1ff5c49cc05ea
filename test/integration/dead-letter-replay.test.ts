/**
 * Dead letters in S3 (s3rver) and `logferry replay`: a mapping error and an unreadable line are
 * dead-lettered by a real run, then replayed; only what goes through is removed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import type { StoredDeadLetter } from '../../src/core/component.js';
import { runBatch } from '../../src/core/pipeline.js';
import { S3DeadLetterStore } from '../../src/deadletter/s3/index.js';
import { memoryLogger } from '../../src/platform/log.js';
import { replay } from '../../src/runtimes/cli/replay.js';
import { OpenSearchFake } from '../../src/testing/opensearch-fake.js';
import { type S3Emulator, startS3 } from '../../src/testing/s3rver.js';

let s3: S3Emulator;
let fake: OpenSearchFake;
let dir: string;
beforeAll(async () => {
  s3 = await startS3();
  await s3.createBucket('dead-letters');
  fake = await new OpenSearchFake().start();
  dir = await mkdtemp(join(tmpdir(), 'logferry-replay-'));
});
afterAll(async () => {
  await fake?.stop();
  await s3?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function all(store: { list(): AsyncIterable<StoredDeadLetter> }) {
  const out: StoredDeadLetter[] = [];
  for await (const e of store.list()) out.push(e);
  return out;
}

describe('s3 dead-letter store', () => {
  it('keeps entries oldest first with their bytes, and removes by id', async () => {
    // As `create` builds it: the client (and the SDK) only when the first request needs it.
    let made = 0;
    const store = new S3DeadLetterStore(
      async () => {
        made++;
        return s3.client;
      },
      { bucket: 'dead-letters', prefix: 'unit/' },
    );
    expect(made).toBe(0);
    const origin = { source: 's', type: 'kinesis', ref: 'stream/shard/1' };
    const a = await store.put({
      kind: 'item',
      source: 's',
      origin,
      error: 'parse: bad',
      retryable: false,
      attempts: 1,
      data: 'AAA=',
    });
    const b = await store.put({
      kind: 'item',
      source: 's',
      origin,
      error: 'parse: worse',
      retryable: false,
      attempts: 2,
    });
    expect((await all(store)).map((e) => [e.id, e.error, e.data])).toEqual([
      [a, 'parse: bad', 'AAA='],
      [b, 'parse: worse', undefined],
    ]);
    expect(made).toBe(1);
    await store.remove(a);
    expect((await all(store)).map((e) => e.id)).toEqual([b]);
    await expect(store.remove('../other/x')).rejects.toThrow('not a dead-letter id: ../other/x');
    await expect(
      new S3DeadLetterStore(s3.client, { bucket: 'no-such-bucket', prefix: 'x/' }).put({
        kind: 'item',
        source: 's',
        origin,
        error: 'e',
        retryable: false,
        attempts: 1,
      }),
    ).rejects.toThrow(/^dead letter could not be stored in s3:\/\/no-such-bucket\/x\/: NoSuchBucket/);
  });
});

describe('logferry replay', () => {
  it('re-sends dead letters after the cause is fixed and removes only those that went through', async () => {
    const aws = JSON.stringify(s3.aws);
    const config = parseConfig(`
dead_letter: {type: s3, bucket: dead-letters, prefix: replay/, aws: ${aws}}
state: {type: file, path: ${join(dir, 'state')}}
sources: [{name: app, type: inbox, path: ${join(dir, 'inbox')}, parser: json_lines, parser_options: {dataset: app.audit}}]
sinks:
  - {name: search, type: opensearch, endpoint: "${fake.url}", index: "replay-{dataset}"}
  - {name: files, type: daily_files, path: ${join(dir, 'files')}}
delivery: {max_attempts: 2, backoff: 1ms}
`);
    const app = await buildApp(config, { log: memoryLogger() });
    const store = app.deadLetter;
    const lines = ['{"user":{"id":17},"n":1}', '{"user":{"id":"admin"},"n":2}', 'not json', '{"n":4}'];
    const res = await runBatch(
      {
        source: 'app',
        items: [
          {
            ackId: 'f1',
            origin: { source: 'app', type: 'inbox', ref: 'inbox/f1.jsonl' },
            body: { kind: 'bytes', bytes: Buffer.from(`${lines.join('\n')}\n`) },
          },
        ],
      },
      app.pipeline,
    );
    expect(res.items[0]).toMatchObject({ status: 'delivered', events: 3, rejected: 1 });
    const before = await all(store);
    expect(before.map((e) => [e.kind, e.sink])).toEqual([
      ['item', undefined],
      ['event', 'search'],
    ]);
    expect(before[1]!.error).toMatch(
      /mapper_parsing_exception: failed to parse field \[user.id\] of type \[long\]/,
    );
    expect(fake.docs('replay-').length).toBe(2);

    // Nothing fixed yet: both stay.
    const reports: string[] = [];
    expect(await replay(app, { report: (l) => reports.push(l) })).toEqual({
      replayed: 0,
      kept: 2,
      skipped: 0,
    });
    expect(await all(store)).toHaveLength(2);

    // The operator fixes the mapping (here: the index is recreated with user.id as keyword).
    fake.indices.clear();
    fake.templates.set('fix', {
      index_patterns: ['replay-*'],
      template: { mappings: { properties: { user: { properties: { id: { type: 'keyword' } } } } } },
    });
    const later = await replay(app, { since: new Date(Date.now() - 60_000), report: (l) => reports.push(l) });
    expect(later).toEqual({ replayed: 1, kept: 1, skipped: 0 });
    expect(reports.slice(-2).sort()).toEqual([
      expect.stringMatching(/^kept \S+: parse inbox\/f1.jsonl line 3/),
      expect.stringMatching(/^replayed \S+ → search$/),
    ]);
    expect(fake.docs('replay-').map((d) => d.source.n)).toEqual([2]);
    const left = await all(store);
    expect(left.map((e) => e.kind)).toEqual(['item']);

    // The unreadable line, repaired by hand, goes through the recorded parser to every sink.
    const fixed: StoredDeadLetter = { ...left[0]!, data: Buffer.from('{"n":3}').toString('base64') };
    await store.remove(fixed.id);
    const { id: _id, time: _time, ...entry } = fixed;
    await store.put(entry);
    expect(await replay(app, { report: (l) => reports.push(l) })).toEqual({
      replayed: 1,
      kept: 0,
      skipped: 0,
    });
    expect(await all(store)).toEqual([]);
    expect(fake.docs('replay-').map((d) => d.source.n)).toEqual([2, 3]);
    await app.close();
  });

  it('replays nothing older than --since and refuses an unknown --sink', async () => {
    const config = parseConfig(`
dead_letter: {type: s3, bucket: dead-letters, prefix: since/, aws: ${JSON.stringify(s3.aws)}}
state: {type: file, path: ${join(dir, 'state2')}}
sources: [{name: app, type: inbox, path: ${join(dir, 'inbox2')}}]
sinks: [{name: search, type: opensearch, endpoint: "${fake.url}", index: "since-{dataset}"}]
`);
    const app = await buildApp(config, { log: memoryLogger() });
    const ev = {
      id: 'since-1',
      dataset: 'app',
      timestamp: 0,
      doc: { '@timestamp': '1970-01-01T00:00:00.000Z', n: 1 },
      origin: { source: 'app', type: 't', ref: 'r' },
    };
    await app.deadLetter.put({
      kind: 'event',
      source: 'app',
      sink: 'search',
      origin: ev.origin,
      error: 'x',
      retryable: false,
      attempts: 1,
      event: ev,
    });
    const none = await replay(app, { since: new Date(Date.now() + 60_000), report: () => {} });
    expect(none).toEqual({ replayed: 0, kept: 0, skipped: 0 });
    await expect(replay(app, { sink: 'nope', report: () => {} })).rejects.toThrow(
      "no sink named 'nope' in the config",
    );
    expect(await replay(app, { sink: 'search', report: () => {} })).toEqual({
      replayed: 1,
      kept: 0,
      skipped: 0,
    });
    expect(fake.docs('since-').map((d) => d.id)).toEqual(['since-1']);
    await app.close();
  });
});
