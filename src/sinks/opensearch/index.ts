import type { Client } from '@opensearch-project/opensearch';
import type { Sink, SinkFailure } from '../../core/component.js';
import type { Deps } from '../../core/contracts.js';
import { DeliveryError } from '../../core/errors.js';
import type { LogEvent } from '../../core/event.js';
import type { Metrics } from '../../core/metrics.js';
import { redactString } from '../../core/redact.js';
import { Coalescer } from '../coalesce.js';
import { type BulkVerdict, classify } from './classify.js';
import { createClient, describeEndpoint } from './client.js';
import { type BulkChunk, chunksOf, indexNamer, splitChunk } from './request.js';
import type { OpenSearchSinkConfig } from './schema.js';

/** Asking only for what classify reads keeps the answer to a big bulk small. */
const FILTER_PATH = 'errors,items.*.status,items.*.error';

/**
 * `_bulk` into OpenSearch or Elasticsearch. Each document's own answer decides its fate:
 * delivered (2xx, or 409 on `create`), retry (429, 5xx: the core backs off and resends only
 * those), or permanent (mapping errors: the core dead-letters them). A 413 splits the body in
 * halves. `write` resolves when the cluster has answered for every document.
 */
export class OpenSearchSink implements Sink {
  readonly writesText = true;
  readonly name: string;
  private readonly indexOf: (e: LogEvent) => string;
  private readonly coalescer: Coalescer;
  private readonly where: string;
  private closed = false;

  constructor(
    private readonly cfg: OpenSearchSinkConfig,
    private readonly client: Client,
    private readonly metrics?: Metrics,
  ) {
    this.name = cfg.name;
    this.indexOf = indexNamer(cfg.index);
    this.where = describeEndpoint(cfg.endpoint);
    this.coalescer = new Coalescer((events) => this.deliver(events), cfg.flush_interval, cfg.flush_events);
  }

  write(events: readonly LogEvent[]): Promise<SinkFailure[]> {
    return this.coalescer.write(events);
  }

  private async deliver(events: readonly LogEvent[]): Promise<SinkFailure[]> {
    const failures: SinkFailure[] = [];
    if (events.length === 0) return failures;
    const chunks = chunksOf(
      events,
      events.map((_, i) => i),
      {
        op: this.cfg.data_stream ? 'create' : this.cfg.op,
        documentId: this.cfg.document_id,
        maxBytes: this.cfg.max_bulk_bytes,
        maxDocs: this.cfg.max_bulk_docs,
        indexOf: this.indexOf,
      },
    );
    // Bodies are built while earlier ones are on the wire, at most `concurrency` in flight.
    const running = new Set<Promise<void>>();
    const launch = (c: BulkChunk) => {
      const p: Promise<void> = this.send(c, failures, launch).finally(() => running.delete(p));
      running.add(p);
    };
    for (const c of chunks) {
      if ('unnamed' in c) {
        failures.push(this.failure(c.unnamed.index, false, c.unnamed.error.message));
        continue;
      }
      if ('oversize' in c) {
        const o = c.oversize;
        failures.push(
          this.failure(
            o.index,
            false,
            `document is ${o.bytes} bytes, over max_bulk_bytes (${this.cfg.max_bulk_bytes})`,
          ),
        );
        continue;
      }
      while (running.size >= this.cfg.concurrency) await Promise.race(running);
      launch(c.chunk);
      // Let the request reach the socket before the next body takes the thread.
      await new Promise<void>((r) => setImmediate(r));
    }
    while (running.size > 0) await Promise.race(running);
    return failures.sort((a, b) => a.index - b.index);
  }

  private async send(
    chunk: BulkChunk,
    failures: SinkFailure[],
    again: (c: BulkChunk) => void,
  ): Promise<void> {
    const verdict = await this.post(chunk);
    this.metrics?.inc(
      'logferry_opensearch_bulk_requests_total',
      { sink: this.name, outcome: verdict.kind },
      1,
      'bulk requests by outcome',
    );
    switch (verdict.kind) {
      case 'items':
        verdict.items.forEach((v, k) => {
          this.metrics?.inc(
            'logferry_opensearch_documents_total',
            { sink: this.name, outcome: v.kind },
            1,
            'documents by bulk item outcome',
          );
          if (v.kind !== 'delivered')
            failures.push(this.failure(chunk.events[k]!, v.kind === 'retry', v.reason));
        });
        return;
      case 'too_large':
        if (chunk.events.length === 1) {
          failures.push(
            this.failure(chunk.events[0]!, false, `document is larger than the cluster accepts (413)`),
          );
          return;
        }
        for (const half of splitChunk(chunk)) again(half);
        return;
      case 'retry':
      case 'reject':
        for (const i of chunk.events)
          failures.push(this.failure(i, verdict.kind === 'retry', verdict.reason));
    }
  }

  private async post(chunk: BulkChunk): Promise<BulkVerdict> {
    try {
      const res = await this.client.bulk({ body: chunk.body, filter_path: FILTER_PATH } as never);
      return classify({ status: res.statusCode ?? 200, body: jsonBody(res.body) }, chunk.events.length);
    } catch (e) {
      const meta = (e as { meta?: { statusCode?: number; body?: unknown } }).meta;
      if ((e as Error).name === 'ResponseError' && meta?.statusCode)
        return classify({ status: meta.statusCode, body: jsonBody(meta.body) }, chunk.events.length);
      // Connection refused, reset, timeout: the cluster may or may not have the documents;
      // `_id` makes sending them again safe.
      const message = safeMessage(e);
      if (/^response is over the \d+-byte limit$/.test(message))
        return { kind: 'retry', reason: `${this.where}: ${message}` };
      return { kind: 'retry', reason: `${this.where} unreachable (${(e as Error).name}: ${message})` };
    }
  }

  private failure(index: number, retryable: boolean, reason: string): SinkFailure {
    // The client's error objects carry request headers (credentials); only our text goes on.
    return { index, retryable, error: new DeliveryError(reason, { sink: this.name, retryable }) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.coalescer.close();
    await this.client.close();
  }
}

/**
 * The client parses only `application/json` answers; Elasticsearch 8 may answer
 * `application/vnd.elasticsearch+json`, which arrives as text.
 */
function jsonBody(body: unknown): unknown {
  if (typeof body !== 'string' || body === '') return body;
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

function safeMessage(e: unknown): string {
  // Connection errors quote the URL, which may hold user:password@.
  return redactString(String((e as Error).message ?? '')).slice(0, 200);
}

export async function create(cfg: OpenSearchSinkConfig, deps?: Deps): Promise<Sink> {
  if (cfg.tls?.insecure_skip_verify)
    deps?.log.warn(
      { sink: cfg.name },
      `sink ${cfg.name}: tls.insecure_skip_verify is on, so any server on the path can pose as ${describeEndpoint(cfg.endpoint)} and receive the events and credentials; set tls.ca_file instead`,
    );
  return new OpenSearchSink(cfg, await createClient(cfg), deps?.metrics);
}
