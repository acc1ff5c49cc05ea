import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { Secret } from '../../config/secrets.js';
import type { Parser, Sink, SinkFailure, SourceContext } from '../../core/component.js';
import type { LogEvent } from '../../core/event.js';
import { defaultLimits } from '../../core/limits.js';
import { runBatch } from '../../core/pipeline.js';
import { gzipJson, subscriptionMessage } from '../../demo/cwlogs.js';
import { AutoParser } from '../../parsers/auto/index.js';
import { JsonLinesParser } from '../../parsers/json_lines/index.js';
import { memoryLogger } from '../../platform/log.js';
import { MemorySink, MemoryStateStore, testPipeline } from '../../testing/memory.js';
import { HttpIntakeSource, type IntakeSecrets } from './index.js';
import { parseFirehoseBody } from './protocol.js';
import { httpIntakeSourceSchema } from './schema.js';

const ACCESS_KEY = 'fh-access-key-3f9d2c71';
const TOKEN = 'ingest-token-8a61e0b4';
const STREAM_ARN = 'arn:aws:firehose:us-east-1:123456789012:deliverystream/central-logs';

const running: { stop: () => Promise<void> }[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop();
});

async function start(
  over: Record<string, unknown> = {},
  opts: { sink?: Sink; secrets?: IntakeSecrets; parser?: Parser } = {},
) {
  const cfg = httpIntakeSourceSchema.parse({
    name: 'intake',
    type: 'http_intake',
    listen: '127.0.0.1:0',
    firehose: {},
    ingest: {},
    ...over,
  });
  const sink = opts.sink ?? new MemorySink();
  const source = new HttpIntakeSource(
    cfg,
    opts.secrets ?? { accessKey: new Secret(ACCESS_KEY), token: new Secret(TOKEN) },
  );
  const p = testPipeline({ parser: opts.parser ?? new AutoParser(), sinks: [sink] });
  const log = memoryLogger();
  const ac = new AbortController();
  const ctx: SourceContext = {
    state: new MemoryStateStore(),
    signal: ac.signal,
    limits: defaultLimits,
    log,
    process: (b) => runBatch(b, p),
  };
  const done = source.run(ctx);
  const port = await source.listening;
  const stop = async () => {
    ac.abort();
    await done;
  };
  running.push({ stop });
  return { source, sink, p, log, port, ac, done, base: `http://127.0.0.1:${port}` };
}

/** A request as Firehose's HTTP endpoint delivery sends it (protocol 1.0), gzip-encoded. */
function firehoseRequest(
  payloads: Buffer[],
  opts: { requestId?: string; key?: string; gzip?: boolean } = {},
): { headers: Record<string, string>; body: Buffer; requestId: string } {
  const requestId = opts.requestId ?? randomUUID();
  const json = JSON.stringify({
    requestId,
    timestamp: 1_764_000_000_123,
    records: payloads.map((p) => ({ data: p.toString('base64') })),
  });
  const gzip = opts.gzip ?? true;
  return {
    requestId,
    body: gzip ? gzipSync(json) : Buffer.from(json),
    headers: {
      'content-type': 'application/json',
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
      'x-amz-firehose-protocol-version': '1.0',
      'x-amz-firehose-request-id': requestId,
      'x-amz-firehose-source-arn': STREAM_ARN,
      'x-amz-firehose-access-key': opts.key ?? ACCESS_KEY,
      'x-amz-firehose-common-attributes': JSON.stringify({ commonAttributes: { team: 'security' } }),
      'user-agent': 'Amazon Kinesis Data Firehose Agent/1.0',
    },
  };
}

async function post(url: string, body: Buffer | string, headers: Record<string, string>) {
  const res = await fetch(url, { method: 'POST', body, headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: JSON.parse(text) as Record<string, unknown> };
}

const cwPayload = (count: number, start = 1_764_000_000_000) =>
  gzipJson(subscriptionMessage({ kind: 'app', count, start }));

/** A sink that holds every write until released, to keep requests in the pipeline. */
class GateSink implements Sink {
  readonly name = 'gate';
  readonly events: LogEvent[] = [];
  private open!: () => void;
  private readonly gate = new Promise<void>((r) => {
    this.open = r;
  });
  entered = 0;
  async write(events: readonly LogEvent[]): Promise<SinkFailure[]> {
    this.entered++;
    await this.gate;
    this.events.push(...events);
    return [];
  }
  release(): void {
    this.open();
  }
  async close(): Promise<void> {}
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}

describe('http_intake: Firehose HTTP endpoint delivery', () => {
  it('delivers a gzip request of CloudWatch Logs records and answers 200 with the request id', async () => {
    const { base, sink } = await start();
    const req = firehoseRequest([cwPayload(3), cwPayload(2, 1_764_000_100_000)]);
    const res = await post(`${base}/firehose`, req.body, req.headers);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(Object.keys(res.json).sort()).toEqual(['requestId', 'timestamp']);
    expect(res.json.requestId).toBe(req.requestId);
    expect(typeof res.json.timestamp).toBe('number');
    expect(sink instanceof MemorySink && sink.byId.size).toBe(5);
    const ev = [...(sink as MemorySink).byId.values()][0]!;
    expect(ev.origin).toMatchObject({
      type: 'firehose_http',
      attrs: { stream: 'central-logs', request_id: req.requestId, 'attr.team': 'security' },
    });
  });

  it('refuses a wrong or missing access key with 401 and the Firehose JSON body, and never logs the key', async () => {
    const { base, sink, log } = await start();
    const wrong = firehoseRequest([cwPayload(1)], { key: 'not-the-key' });
    const res = await post(`${base}/firehose`, wrong.body, wrong.headers);
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ requestId: wrong.requestId, errorMessage: expect.any(String) });
    expect(typeof res.json.timestamp).toBe('number');
    const missing = firehoseRequest([cwPayload(1)]);
    delete missing.headers['x-amz-firehose-access-key'];
    expect((await post(`${base}/firehose`, missing.body, missing.headers)).status).toBe(401);
    expect((sink as MemorySink).byId.size).toBe(0);
    const logged = JSON.stringify(log.entries);
    expect(logged).toContain('refused');
    expect(logged).not.toContain(ACCESS_KEY);
    expect(logged).not.toContain('not-the-key');
  });

  it('answers 413 to a body over the cap and to a gzip body that inflates past its cap', async () => {
    const { base } = await start({ max_body_bytes: 4096, max_decoded_bytes: 64 * 1024 });
    const big = firehoseRequest([Buffer.alloc(8000, 1)], { gzip: false });
    const res = await post(`${base}/firehose`, big.body, big.headers);
    expect(res.status).toBe(413);
    expect(res.json.requestId).toBe(big.requestId);
    const bomb = firehoseRequest([Buffer.alloc(200 * 1024, 0x41)]);
    expect(bomb.body.length).toBeLessThan(4096);
    const bombRes = await post(`${base}/firehose`, bomb.body, bomb.headers);
    expect(bombRes.status).toBe(413);
    expect(String(bombRes.json.errorMessage)).toContain('limit');
  });

  it('answers 400 to a body that is not JSON, not a Firehose request, or not gzip as declared', async () => {
    const { base, sink } = await start();
    const ok = firehoseRequest([cwPayload(1)], { gzip: false });
    const notJson = await post(`${base}/firehose`, '{"requestId": ', ok.headers);
    expect(notJson.status).toBe(400);
    expect(notJson.json).toMatchObject({
      requestId: ok.requestId,
      errorMessage: expect.stringContaining('JSON'),
    });
    const noRecords = await post(
      `${base}/firehose`,
      JSON.stringify({ requestId: ok.requestId, timestamp: 1 }),
      ok.headers,
    );
    expect(noRecords.status).toBe(400);
    expect(String(noRecords.json.errorMessage)).toContain('records');
    const badGzip = await post(`${base}/firehose`, 'plain text', {
      ...ok.headers,
      'content-encoding': 'gzip',
    });
    expect(badGzip.status).toBe(400);
    const br = await post(`${base}/firehose`, ok.body, { ...ok.headers, 'content-encoding': 'br' });
    expect(br.status).toBe(415);
    expect((sink as MemorySink).byId.size).toBe(0);
  });

  it('answers 500 when a sink cannot take the events, so Firehose retries; the retry delivers each event once', async () => {
    const sink = new MemorySink().failNext(3, true);
    const { base, log } = await start({}, { sink });
    const req = firehoseRequest([cwPayload(4)]);
    const failed = await post(`${base}/firehose`, req.body, req.headers);
    expect(failed.status).toBe(500);
    expect(failed.json.requestId).toBe(req.requestId);
    expect(String(failed.json.errorMessage)).toContain('not delivered');
    // Which destination failed and what it said is for the operator's log, not for the sender.
    expect(String(failed.json.errorMessage)).not.toContain('destination busy');
    expect(JSON.stringify(log.entries)).toContain('destination busy');
    expect(failed.headers.get('retry-after')).toBe('5');
    expect(sink.byId.size).toBe(0);
    const retried = await post(`${base}/firehose`, req.body, req.headers);
    expect(retried.status).toBe(200);
    expect(sink.byId.size).toBe(4);
  });

  it('dead-letters a record that is not base64 and delivers the others with 200', async () => {
    const { base, sink, p } = await start();
    const req = firehoseRequest([cwPayload(2)], { gzip: false });
    const body = JSON.parse(req.body.toString()) as { records: { data: string }[] };
    body.records.push({ data: '%%% not base64 %%%' });
    const res = await post(`${base}/firehose`, JSON.stringify(body), req.headers);
    expect(res.status).toBe(200);
    expect((sink as MemorySink).byId.size).toBe(2);
    expect(p.deadLetter.entries).toHaveLength(1);
    expect(p.deadLetter.entries[0]!.origin.ref).toBe(`central-logs/${req.requestId}/1`);
  });

  it('tells senders to come back (429, Retry-After) while the pipeline is full', async () => {
    const sink = new GateSink();
    const { base } = await start({ max_concurrent: 1, retry_after: 7 }, { sink });
    const first = firehoseRequest([cwPayload(1)]);
    const pending = post(`${base}/firehose`, first.body, first.headers);
    await until(() => sink.entered > 0);
    const second = firehoseRequest([cwPayload(1)]);
    const busy = await post(`${base}/firehose`, second.body, second.headers);
    expect(busy.status).toBe(429);
    expect(busy.headers.get('retry-after')).toBe('7');
    expect(busy.json.requestId).toBe(second.requestId);
    sink.release();
    expect((await pending).status).toBe(200);
    expect(sink.events).toHaveLength(1);
  });

  it('finishes requests already in the pipeline when it stops', async () => {
    const sink = new GateSink();
    const { base, ac, done } = await start({}, { sink });
    const req = firehoseRequest([cwPayload(2)]);
    const pending = post(`${base}/firehose`, req.body, req.headers);
    await until(() => sink.entered > 0);
    ac.abort();
    sink.release();
    expect((await pending).status).toBe(200);
    await done;
    expect(sink.events).toHaveLength(2);
  });
});

describe('parseFirehoseBody', () => {
  it('reads a request of megabytes (too large for one string) as JSON.parse does', () => {
    const request = {
      requestId: randomUUID(),
      timestamp: 1_764_000_000_123,
      records: Array.from({ length: 400 }, (_, i) => ({
        data: cwPayload(40, 1_764_000_000_000 + i).toString('base64'),
      })),
    };
    const body = Buffer.from(JSON.stringify(request));
    expect(body.length).toBeGreaterThan(1024 * 1024);
    expect(parseFirehoseBody(body)).toEqual(request);
    expect(() => parseFirehoseBody(body.subarray(0, body.length - 3))).toThrow(/^body is not JSON/);
  });
});

describe('http_intake: NDJSON POST /ingest', () => {
  const ndjson = (n: number, tag: string) =>
    Array.from({ length: n }, (_, i) =>
      JSON.stringify({ '@timestamp': '2026-11-25T10:00:00Z', tag, i }),
    ).join('\n');

  it('takes NDJSON with the bearer token and reports events and rejected lines', async () => {
    const { base, sink, p } = await start({}, { parser: new JsonLinesParser() });
    const body = `${ndjson(3, 'a')}\nnot json\n`;
    const res = await post(`${base}/ingest`, body, {
      authorization: `Bearer ${TOKEN}`,
      'content-type': 'application/x-ndjson',
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ status: 'delivered', events: 3, rejected: 1 });
    expect((sink as MemorySink).byId.size).toBe(3);
    expect(p.deadLetter.entries).toHaveLength(1);
  });

  it('refuses a wrong or missing token with 401', async () => {
    const { base, sink } = await start();
    const wrong = await post(`${base}/ingest`, ndjson(1, 'a'), { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toBe('Bearer');
    expect((await post(`${base}/ingest`, ndjson(1, 'a'), {})).status).toBe(401);
    expect((sink as MemorySink).byId.size).toBe(0);
  });

  it('accepts gzip bodies and makes a resent body the same events, not duplicates', async () => {
    const { base, sink } = await start();
    const body = gzipSync(ndjson(5, 'resend'));
    const headers = { authorization: `Bearer ${TOKEN}`, 'content-encoding': 'gzip' };
    expect((await post(`${base}/ingest`, body, headers)).status).toBe(200);
    expect((await post(`${base}/ingest`, body, headers)).status).toBe(200);
    expect((sink as MemorySink).byId.size).toBe(5);
  });

  it('serves only the configured paths and POST', async () => {
    const { base } = await start({ ingest: undefined });
    expect((await post(`${base}/ingest`, 'x', { authorization: `Bearer ${TOKEN}` })).status).toBe(404);
    expect((await fetch(`${base}/firehose`)).status).toBe(405);
  });
});

describe('http_intake connections', () => {
  it('drops connections beyond max_connections on arrival', async () => {
    const { port, base } = await start({ max_connections: 1 });
    const held = connect(port, '127.0.0.1');
    await new Promise((r) => held.once('connect', r));
    try {
      await expect(post(`${base}/ingest`, '{"a":1}', { authorization: `Bearer ${TOKEN}` })).rejects.toThrow();
    } finally {
      held.destroy();
    }
  });
});

describe('http_intake start-up', () => {
  it('says which address it cannot listen on', async () => {
    const { port } = await start();
    const cfg = httpIntakeSourceSchema.parse({
      name: 'second',
      type: 'http_intake',
      listen: `127.0.0.1:${port}`,
      ingest: {},
    });
    const ctx: SourceContext = {
      state: new MemoryStateStore(),
      signal: new AbortController().signal,
      limits: defaultLimits,
      log: memoryLogger(),
      process: () => Promise.reject(new Error('not reached')),
    };
    await expect(new HttpIntakeSource(cfg).run(ctx)).rejects.toThrow(
      `cannot listen on 127.0.0.1:${port}: EADDRINUSE`,
    );
  });
});

describe('http_intake config', () => {
  it('refuses a non-loopback listen address without an access key and a token', () => {
    const base = { name: 'i', type: 'http_intake', listen: '0.0.0.0:8088', firehose: {}, ingest: {} };
    const res = httpIntakeSourceSchema.safeParse(base);
    expect(res.success).toBe(false);
    expect(res.error!.issues.map((i) => i.path.join('.')).sort()).toEqual([
      'firehose.access_key',
      'ingest.token',
    ]);
    expect(
      httpIntakeSourceSchema.safeParse({
        ...base,
        firehose: { access_key: { env: 'FH_KEY' } },
        ingest: { token: { env: 'INGEST_TOKEN' } },
      }).success,
    ).toBe(true);
    expect(httpIntakeSourceSchema.safeParse({ ...base, listen: '[::1]:8088' }).success).toBe(true);
  });

  it('needs at least one endpoint', () => {
    expect(httpIntakeSourceSchema.safeParse({ name: 'i', type: 'http_intake' }).success).toBe(false);
  });
});
