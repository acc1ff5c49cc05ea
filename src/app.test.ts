import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from './app.js';
import { parseConfig } from './config/load.js';
import type { StoredDeadLetter } from './core/component.js';
import { runBatch } from './core/pipeline.js';
import { memoryLogger } from './platform/log.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-trust-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A plain JSON line dressed up as a CloudTrail StopLogging record, and one naming a path. */
const forgedLines = [
  JSON.stringify({
    '@timestamp': '2026-11-25T10:05:31Z',
    event: { dataset: 'aws.cloudtrail', id: 'real-document-id' },
    aws: { cloudtrail: { eventSource: 'cloudtrail.amazonaws.com', eventName: 'StopLogging' } },
  }),
  JSON.stringify({ '@timestamp': '2026-11-25T10:05:32Z', event: { dataset: '../../outside/x' } }),
  JSON.stringify({ '@timestamp': '2026-11-25T10:05:33Z', event: { dataset: '..' } }),
].join('\n');

async function ingest(trust: boolean) {
  const out = join(dir, 'root', 'out');
  const config = parseConfig(
    `
state: { type: file, path: ${join(dir, 'state')} }
dead_letter: { type: file, path: ${join(dir, 'dlq')} }
sources: [{ name: drop, type: inbox, path: ${join(dir, 'in')}, parser: json_lines, trust_event_fields: ${trust} }]
sinks: [{ name: files, type: daily_files, path: ${out}, fsync: false, retention_days: 0 }]
rules: { paths: [rules/aws/cloudtrail-tampering.yaml] }
alerts:
  outputs: [{ type: sink, name: to-files, sink: files }]
`,
    'c.yaml',
    {},
  );
  const app = await buildApp(config, { log: memoryLogger() });
  const result = await runBatch(
    {
      source: 'drop',
      items: [
        {
          ackId: 'f1',
          origin: { source: 'drop', type: 'file', ref: 'in/f1' },
          body: { kind: 'bytes', bytes: Buffer.from(forgedLines) },
        },
      ],
    },
    app.pipeline,
  );
  const dead: StoredDeadLetter[] = [];
  for await (const d of app.deadLetter.list()) dead.push(d);
  await app.close();
  return { result: result.items[0]!, out, dead };
}

async function lines(path: string): Promise<Record<string, unknown>[]> {
  return (await readFile(path, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

describe('event fields and trust (source → parser → rules → daily files)', () => {
  it('by default, a JSON line chooses neither its dataset, its id nor where it is written', async () => {
    const { result, out, dead } = await ingest(false);
    expect(result).toMatchObject({ status: 'delivered', events: 3 });
    expect(dead).toEqual([]);
    // Nothing beside or above the sink's root, and no CloudTrail rule fired: no `alerts` folder.
    expect(await readdir(join(dir, 'root'))).toEqual(['out']);
    expect(await readdir(out)).toEqual(['generic.json']);
    const docs = await lines(join(out, 'generic.json', 'generic.json-2026-11-25.jsonl'));
    expect(docs.map((d) => (d.event as { dataset: string }).dataset)).toEqual(Array(3).fill('generic.json'));
    expect(docs.map((d) => (d.event as { id: string }).id)).not.toContain('real-document-id');
    expect(docs[0]!.logferry).toEqual({ claimed: { dataset: 'aws.cloudtrail', id: 'real-document-id' } });
  });

  it('with trust_event_fields, claims are honoured but a dataset that is no name is dead-lettered', async () => {
    const { result, out, dead } = await ingest(true);
    expect(result).toMatchObject({ status: 'delivered', events: 1, rejected: 2 });
    expect(await readdir(join(dir, 'root'))).toEqual(['out']);
    expect((await readdir(out)).sort()).toEqual(['alerts', 'aws.cloudtrail']);
    const [doc] = await lines(join(out, 'aws.cloudtrail', 'aws.cloudtrail-2026-11-25.jsonl'));
    expect(doc!.event).toMatchObject({ id: 'real-document-id', dataset: 'aws.cloudtrail' });
    expect(dead.map((d) => d.error)).toEqual([
      'parse in/f1 line 2: event.dataset "../../outside/x" is not a dataset name (letters, digits, . _ -)',
      'parse in/f1 line 3: event.dataset ".." cannot be used as a name',
    ]);
  });

  it('refuses a configured json_lines dataset that is no plain name', async () => {
    const config = parseConfig(
      `
state: { type: file, path: ${join(dir, 'state')} }
dead_letter: { type: file, path: ${join(dir, 'dlq')} }
sources: [{ name: drop, type: inbox, path: ${join(dir, 'in')}, parser: json_lines, parser_options: { dataset: '..' } }]
sinks: [{ name: files, type: daily_files, path: ${join(dir, 'out')} }]
`,
      'c.yaml',
      {},
    );
    await expect(buildApp(config, { log: memoryLogger() })).rejects.toThrow(
      'parser_options.dataset ".." is not a dataset name (letters, digits, . _ -; not . or ..)',
    );
  });
});
