import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@opensearch-project/opensearch';
import { afterEach, describe, expect, it } from 'vitest';
import { conformanceEvents } from '../../../test/sink-conformance.js';
import { parseConfig } from '../../config/load.js';
import type { Parser } from '../../core/component.js';
import { finalizeEvent, runBatch } from '../../core/pipeline.js';
import { setupOpenSearch } from '../../runtimes/cli/setup.js';
import { testPipeline } from '../../testing/memory.js';
import { type FakeAuth, OpenSearchFake } from '../../testing/opensearch-fake.js';
import { create } from './index.js';
import { openSearchSinkSchema } from './schema.js';

let fake: OpenSearchFake;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  await fake?.stop();
});

async function start(opts: { auth?: FakeAuth; maxBodyBytes?: number } = {}) {
  fake = await new OpenSearchFake(opts).start();
  return fake;
}

async function sink(extra: Record<string, unknown> = {}) {
  const s = await create(
    openSearchSinkSchema.parse({ name: 'search', type: 'opensearch', endpoint: fake.url, ...extra }),
  );
  closers.push(() => s.close());
  return s;
}

/** Items are JSON arrays of docs; each doc becomes one event with a deterministic id. */
const docsParser: Parser = {
  name: 'docs',
  *parse(item) {
    const docs = JSON.parse(item.body.kind === 'bytes' ? item.body.bytes.toString() : '[]') as Record<
      string,
      unknown
    >[];
    for (const [i, doc] of docs.entries())
      yield {
        dataset: 'app.test',
        timestamp: Date.parse('2026-11-25T10:00:00Z') + i,
        doc,
        idParts: [item.ackId, i],
      };
  },
};

function item(ackId: string, docs: unknown[]) {
  return {
    ackId,
    origin: { source: 'src', type: 'test', ref: `test/${ackId}` },
    body: { kind: 'bytes' as const, bytes: Buffer.from(JSON.stringify(docs)) },
  };
}

describe('opensearch sink: index names from event data', () => {
  it('refuses for good an event whose dataset cannot be an index name, and sends the rest', async () => {
    await start();
    const s = await sink({ index: '{dataset}', flush_interval: 0 });
    const events = ['..', 'app', '.'].map((dataset, n) =>
      finalizeEvent(
        { dataset, timestamp: Date.parse('2026-11-25T10:00:00Z'), doc: { n }, idParts: [n] },
        { source: 'src', type: 'test', ref: `test/${n}` },
      ),
    );
    const failures = await s.write(events);
    expect(failures.map((f) => [f.index, f.retryable, f.error.message])).toEqual([
      [0, false, 'dataset ".." cannot be used as a name'],
      [2, false, 'dataset "." cannot be used as a name'],
    ]);
    expect(fake.docs().map((d) => d.index)).toEqual(['app']);
  });
});

describe('opensearch sink: authentication', () => {
  it('sends basic auth and keeps the password out of every failure', async () => {
    await start({ auth: { basic: { username: 'logferry', password: 'pa55-w0rd!' } } });
    const good = await sink({ auth: { basic: { username: 'logferry', password: 'pa55-w0rd!' } } });
    expect(await good.write(conformanceEvents(3))).toEqual([]);
    expect(fake.count()).toBe(3);

    const bad = await sink({
      auth: { basic: { username: 'logferry', password: 'wrong-secret-value' } },
      endpoint: fake.url.replace('http://', 'http://logferry:wrong-secret-value@'),
    });
    const failures = await bad.write(conformanceEvents(2, 'conformance.main', 'x'));
    expect(failures.map((f) => [f.index, f.retryable])).toEqual([
      [0, true],
      [1, true],
    ]);
    expect(failures[0]!.error.message).toBe(
      'HTTP 401 security_exception: unable to authenticate user [logferry]',
    );
    expect(JSON.stringify(failures.map((f) => [f.error.message, String(f.error.cause ?? '')]))).not.toContain(
      'wrong-secret-value',
    );
  });

  it('sends an API key from the environment', async () => {
    await start({ auth: { apiKey: 'VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==' } });
    process.env.LF_TEST_OS_KEY = 'VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==';
    const s = await sink({ auth: { api_key: { env: 'LF_TEST_OS_KEY' } } });
    expect(await s.write(conformanceEvents(2))).toEqual([]);
    expect(fake.requests.at(-1)!.authorization).toMatch(/^ApiKey /);
    delete process.env.LF_TEST_OS_KEY;
  });

  for (const service of ['es', 'aoss'] as const) {
    it(`signs with SigV4 for service '${service}'`, async () => {
      const secretAccessKey = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
      await start({
        auth: {
          sigv4: { service, region: 'eu-west-1', accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey },
        },
      });
      const credentials = { access_key_id: 'AKIAIOSFODNN7EXAMPLE', secret_access_key: secretAccessKey };
      const s = await sink({ auth: { aws: { region: 'eu-west-1', service, credentials } } });
      expect(await s.write(conformanceEvents(4))).toEqual([]);
      expect(fake.count()).toBe(4);
      expect(fake.requests.at(-1)!.authorization).toMatch(
        new RegExp(
          `^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/\\d{8}/eu-west-1/${service}/aws4_request, `,
        ),
      );
      const wrongRegion = await sink({ auth: { aws: { region: 'us-east-1', service, credentials } } });
      const failures = await wrongRegion.write(conformanceEvents(1, 'conformance.main', 'w'));
      expect(failures[0]!.retryable).toBe(true);
      expect(failures[0]!.error.message).toContain('HTTP 403 Credential should be scoped to correct service');
      expect(failures[0]!.error.message).not.toContain('wJalrXUtnFEMI');
      const wrongKey = await sink({
        auth: {
          aws: {
            region: 'eu-west-1',
            service,
            credentials: { ...credentials, secret_access_key: 'not-the-key' },
          },
        },
      });
      const denied = await wrongKey.write(conformanceEvents(1, 'conformance.main', 'k'));
      expect(denied[0]!.error.message).toMatch(
        /^HTTP 403 The request signature we calculated does not match/,
      );
    });
  }
});

describe('opensearch sink: per-document outcomes through runBatch', () => {
  it('dead-letters only the document with a mapping error, with the reason', async () => {
    await start();
    const s = await sink();
    const p = testPipeline({ parser: docsParser, sinks: [s] });
    // The first document fixes source.port as a number; a later "http" cannot be indexed.
    const res = await runBatch(
      {
        source: 'src',
        items: [
          item('a', [{ source: { port: 443 } }, { source: { port: 80 } }]),
          item('b', [{ source: { port: 'http' } }, { source: { port: 8080 } }]),
        ],
      },
      p,
    );
    expect(res.items.map((r) => r.status)).toEqual(['delivered', 'delivered']);
    expect(fake.count()).toBe(3);
    expect(p.deadLetter.entries).toHaveLength(1);
    const dl = p.deadLetter.entries[0]!;
    expect(dl).toMatchObject({ kind: 'event', sink: 'search', retryable: false, attempts: 1 });
    expect(dl.error).toMatch(
      /^search: deliver: 400 mapper_parsing_exception: failed to parse field \[source.port\] of type \[long\]/,
    );
    expect((dl.event as { doc: { source: { port: string } } }).doc.source.port).toBe('http');
  });

  it('splits a body the cluster answers 413 to, and dead-letters a document too large alone', async () => {
    await start({ maxBodyBytes: 4000 });
    const s = await sink({ max_bulk_bytes: 64 * 1024 });
    const p = testPipeline({ parser: docsParser, sinks: [s] });
    const docs = Array.from({ length: 40 }, (_, i) => ({ message: `m${i} ${'x'.repeat(150)}` }));
    const res = await runBatch(
      { source: 'src', items: [item('a', docs), item('b', [{ message: 'y'.repeat(5000) }])] },
      p,
    );
    expect(res.items.map((r) => r.status)).toEqual(['delivered', 'delivered']);
    expect(fake.count()).toBe(40);
    expect(fake.requests.filter((r) => r.status === 413).length).toBeGreaterThanOrEqual(3);
    expect(p.deadLetter.entries.map((e) => e.error)).toEqual([
      'search: deliver: document is larger than the cluster accepts (413)',
    ]);
  });

  it('writes to data streams with create only, after setup installed the template', async () => {
    await start();
    const config = parseConfig(
      `sources: [{name: in, type: inbox, path: ./in}]\nsinks:\n  - {name: search, type: opensearch, endpoint: "${fake.url}", index: "logs-{dataset}-default", data_stream: true, op: index}\n`,
    );
    const lines: string[] = [];
    expect(await setupOpenSearch(config, { report: (l) => lines.push(l) })).toBe(1);
    expect(lines).toEqual([
      `search: index template 'logferry-ecs' for logs-*-default (data streams) installed on ${fake.url}`,
    ]);
    const tpl = fake.templates.get('logferry-ecs')!;
    expect(tpl).toMatchObject({ index_patterns: ['logs-*-default'], data_stream: {} });
    const s = await sink({ index: 'logs-{dataset}-default', data_stream: true, op: 'index' });
    expect(await s.write(conformanceEvents(3))).toEqual([]);
    expect(fake.indices.get('logs-conformance.main-default')?.dataStream).toBe(true);
    // The template typed source.port as long: a text value is a mapping error, not a retry.
    const bad = finalizeEvent(
      {
        dataset: 'conformance.main',
        timestamp: Date.now(),
        doc: { source: { port: 'ssh' } },
        idParts: ['bad'],
      },
      { source: 's', type: 't', ref: 'r' },
    );
    const failures = await s.write([bad]);
    expect(failures.map((f) => f.retryable)).toEqual([false]);
  });
});

describe('opensearch sink: response size', () => {
  it('breaks off a response body over max_response_bytes: the write fails, retryable, naming the limit', async () => {
    // A "cluster" answering 200 with 64 MB in 64 KB writes that wait for the client.
    const piece = Buffer.alloc(64 * 1024, ' ');
    let closed: (all: boolean) => void = () => {};
    const sentAll = new Promise<boolean>((r) => {
      closed = r;
    });
    const server = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      let left = 1024;
      const write = () => {
        while (left > 0) {
          left--;
          if (!res.write(piece)) return void res.once('drain', write);
        }
        res.end('{}');
      };
      res.on('close', () => closed(res.writableFinished));
      write();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    });
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const s = await create(
      openSearchSinkSchema.parse({
        name: 'search',
        type: 'opensearch',
        endpoint,
        max_response_bytes: 1024 * 1024,
      }),
    );
    closers.push(() => s.close());
    const failures = await s.write(conformanceEvents(2));
    expect(failures.map((f) => f.retryable)).toEqual([true, true]);
    expect(failures[0]!.error.message).toBe(`${endpoint}: response is over the 1048576-byte limit`);
    expect(failures[0]!.error.message).not.toContain('\n');
    expect(await sentAll).toBe(false);
  }, 60_000);
});

describe('opensearch sink: Elasticsearch 8', () => {
  it('reads answers sent with the Elasticsearch vendor content type', async () => {
    fake = await new OpenSearchFake({
      flavor: 'elasticsearch',
      auth: { apiKey: 'ZXM4LWtleTpzZWNyZXQ=' },
    }).start();
    const s = await sink({ auth: { api_key: 'ZXM4LWtleTpzZWNyZXQ=' } });
    const events = conformanceEvents(3);
    expect(await s.write(events)).toEqual([]);
    // Sent again: every item is a 409 conflict, read from the vendor-typed answer as delivered.
    expect(await s.write(events)).toEqual([]);
    expect(fake.itemStatuses.get(409)).toBe(3);
    expect(fake.count()).toBe(3);
  });
});

describe('opensearch fake: strict like a cluster', () => {
  async function raw(body: string, contentType = 'application/x-ndjson') {
    const client = new Client({ node: fake.url, maxRetries: 0 });
    closers.push(() => client.close());
    try {
      const r = await client.transport.request(
        { method: 'POST', path: '/_bulk', body },
        { headers: { 'content-type': contentType } },
      );
      return { status: r.statusCode, body: r.body as Record<string, unknown> };
    } catch (e) {
      const m = (e as { meta: { statusCode: number; body: Record<string, unknown> } }).meta;
      return { status: m.statusCode, body: m.body };
    }
  }

  it('refuses a body without the final newline, a bad action line and a wrong content type', async () => {
    await start();
    const line = '{"create":{"_index":"logs","_id":"1"}}\n{"a":1}';
    expect(await raw(line)).toMatchObject({
      status: 400,
      body: {
        error: {
          type: 'illegal_argument_exception',
          reason: 'The bulk request must be terminated by a newline [\\n]',
        },
      },
    });
    expect((await raw('{"insert":{"_index":"logs"}}\n{"a":1}\n')).body).toMatchObject({
      error: {
        reason: expect.stringContaining('expected one of [create, delete, index, update] but found [insert]'),
      },
    });
    expect((await raw(`${line}\n`, 'text/plain')).status).toBe(406);
    expect(fake.count()).toBe(0);
  });

  it('answers create of an existing id with a 409 item and keeps one copy', async () => {
    await start();
    const body = '{"create":{"_index":"logs","_id":"1"}}\n{"a":1}\n';
    expect((await raw(body)).body).toMatchObject({ errors: false, items: [{ create: { status: 201 } }] });
    expect((await raw(body)).body).toMatchObject({
      errors: true,
      items: [{ create: { status: 409, error: { type: 'version_conflict_engine_exception' } } }],
    });
    expect(fake.count()).toBe(1);
  });
});
