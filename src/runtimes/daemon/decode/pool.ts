import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ResourceLimits, Worker } from 'node:worker_threads';
import type { Config } from '../../../config/schema.js';
import type { RawItem } from '../../../core/batch.js';
import type { Line } from '../../../core/component.js';
import type { DecodedChunk, Decoder, ItemDecoding, ItemFailure } from '../../../core/decoder.js';
import { type LogEvent, type Origin, SerializedEvent } from '../../../core/event.js';
import type { ToWorker, WireBody, WireChunk, WorkerSpec } from './wire.js';

/**
 * Why worker threads, and why this split: decoding (base64, gunzip, JSON.parse, normalizing, ids,
 * serializing) is most of a Kinesis record's or inbox file's cost and needs nothing shared, while
 * rules with windows, sinks' writes and checkpoints want one owner. So workers decode and the
 * main thread keeps the order per unit, the rules, the sinks and the commits: the worker path is
 * only a faster parse step, and the runner's commit-up-to-the-first-failure is untouched.
 * Events come back as JSON text (what NDJSON sinks write anyway), not as objects: cloning
 * objects between threads cost about as much as decoding them.
 */

/** `auto` never starts more than this: beyond it, the single main thread that delivers is the limit. */
export const MAX_AUTO_WORKERS = 4;

/**
 * `daemon.workers`: a number, or `auto` = one per core, up to MAX_AUTO_WORKERS, and none on one
 * core (where a worker only adds the hand-over). One per core, not one per core beside the main
 * thread's: with NDJSON sinks the main thread's share (order, sinks, commits) measured 5–15 % of
 * the decode work (bench/workers.bench.ts, main_busy_s), so with cores − 1 workers a core would sit
 * mostly idle; the OS shares one core between the main thread and a worker.
 */
export function workerCount(setting: 'auto' | number, cores = availableParallelism()): number {
  if (setting !== 'auto') return setting;
  return cores <= 1 ? 0 : Math.min(cores, MAX_AUTO_WORKERS);
}

/** What the workers need from the config: each source's parser, the transforms, the limits. */
export function workerSpec(config: Config): WorkerSpec {
  const routes: WorkerSpec['routes'] = {};
  for (const s of config.sources)
    routes[s.name] = {
      parser: s.parser,
      options: s.parser_options ?? {},
      envelope: s.type === 'inbox',
      trustEventFields: s.trust_event_fields === true,
    };
  return {
    routes,
    transforms: config.transforms,
    limits: config.limits,
    chunkEvents: config.delivery.chunk_events,
  };
}

/** tsx's ESM register API (require.resolve would give its CommonJS twin, which a worker cannot load). */
function tsxEsmApi(pkgJson: string): string {
  const pkg = JSON.parse(readFileSync(pkgJson, 'utf8')) as {
    exports: Record<string, { import: { default: string } }>;
  };
  return join(dirname(pkgJson), pkg.exports['./esm/api']!.import.default);
}

/**
 * The worker's code: the bundled file beside dist/cli.mjs, or (tests, LOGFERRY_FROM_SOURCE) the
 * TypeScript source, started by a line that first registers tsx in the worker.
 */
function startWorker(spec: WorkerSpec, limits: ResourceLimits | undefined): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts'))
    return new Worker(new URL('./decode-worker.mjs', here), { workerData: spec, resourceLimits: limits });
  const tsx = pathToFileURL(tsxEsmApi(createRequire(here).resolve('tsx/package.json'))).href;
  const entry = new URL('./decode-worker.ts', here).href;
  const boot = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(boot, { eval: true, workerData: spec, resourceLimits: limits });
}

/** An item's body as it is sent to a worker, or undefined when it is not worth sending. */
function wireBody(item: RawItem): { body: WireBody; transfer: ArrayBuffer[] } | undefined {
  const b = item.body;
  if (b.kind === 'bytes') {
    // A copy of just these bytes: the Buffer may be a view into a much larger one (a whole
    // GetRecords response), which sending as it is would copy whole.
    const bytes = new Uint8Array(b.bytes);
    return { body: { kind: 'bytes', bytes }, transfer: [bytes.buffer] };
  }
  if (b.kind === 'base64') return { body: b, transfer: [] };
  if (b.kind === 'stream' && b.file !== undefined)
    return { body: { kind: 'file', path: b.file, size: b.size }, transfer: [] };
  // Objects (Duo events) cost as much to clone as to parse; other streams (S3) open here.
  return undefined;
}

function toChunk(wire: WireChunk, origin: Origin, slot: Slot): DecodedChunk {
  const n = wire.ids.length;
  const events = new Array<LogEvent>(n);
  let start = 0;
  for (let k = 0; k < n; k++) {
    const end = wire.ends[k]!;
    const ev = new SerializedEvent(
      wire.ids[k]!,
      wire.datasets[k]!,
      wire.timestamps[k]!,
      wire.json.slice(start, end),
      origin,
    );
    const original = wire.originals?.[k];
    if (original !== undefined) ev.original = original;
    events[k] = ev;
    start = end;
  }
  const chunk: DecodedChunk = { events, rejects: wire.rejects };
  if (wire.ndjson) {
    const { bytes, count } = wire.ndjson;
    const release = () => slot.post({ type: 'recycle', buffer: bytes.buffer }, [bytes.buffer]);
    chunk.ndjson = { bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), count, release };
  }
  if (wire.failure) chunk.failure = wire.failure;
  return chunk;
}

/**
 * How long a kept decoding (see ItemDecoding.keep) waits for its item to be asked for again. The
 * runner asks at once, after one commit; past this, the runner stopped or read again from its
 * cursor (new item objects), and the decoding is cancelled so it holds its worker no longer.
 */
export const KEEP_MS = 5000;

/** One item's chunks as they arrive, read in order by runBatch. */
class ItemChannel implements ItemDecoding {
  private readonly queue: { chunk: DecodedChunk; last: boolean }[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;
  private started = false;

  constructor(
    readonly id: number,
    private readonly origin: Origin,
    private readonly slot: Slot,
    private readonly onKeep: (ch: ItemChannel) => void,
  ) {}

  receive(wire: WireChunk): void {
    this.put(toChunk(wire, this.origin, this.slot), wire.done);
  }

  fail(failure: ItemFailure): void {
    this.put({ events: [], rejects: [], failure }, true);
  }

  private put(chunk: DecodedChunk, last: boolean): void {
    this.queue.push({ chunk, last });
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<DecodedChunk> {
    this.started = true;
    while (!this.ended) {
      while (this.queue.length === 0) await new Promise<void>((r) => (this.waiter = r));
      const { chunk, last } = this.queue.shift()!;
      if (last) this.ended = true;
      else this.slot.post({ type: 'ack', id: this.id });
      yield chunk;
    }
  }

  cancel(): void {
    if (this.ended) return;
    this.ended = true;
    this.slot.forget(this.id, true);
  }

  /** Only a decoding nobody began to read can be handed to the next reader whole. */
  keep(): void {
    if (this.started || this.ended) this.cancel();
    else this.onKeep(this);
  }
}

/** One worker thread and the items it has been given. */
class Slot {
  readonly channels = new Map<number, ItemChannel>();
  private worker: Worker | undefined;

  constructor(
    private readonly spec: WorkerSpec,
    private readonly limits: ResourceLimits | undefined,
  ) {}

  start(): Worker {
    if (this.worker) return this.worker;
    const w = startWorker(this.spec, this.limits);
    w.on('message', (wire: WireChunk) => {
      const ch = this.channels.get(wire.id);
      if (!ch) return;
      if (wire.done) this.forget(wire.id, false);
      ch.receive(wire);
    });
    w.on('error', (e) => this.lost(w, `decode worker failed: ${e.message}`));
    w.on('exit', (code) => this.lost(w, `decode worker exited (code ${code})`));
    this.worker = w;
    return w;
  }

  post(msg: ToWorker, transfer: ArrayBuffer[] = []): void {
    this.worker?.postMessage(msg, transfer);
  }

  send(ch: ItemChannel, msg: ToWorker, transfer: ArrayBuffer[]): void {
    const w = this.start();
    // Only a worker with work in hand keeps the process alive.
    if (this.channels.size === 0) w.ref();
    this.channels.set(ch.id, ch);
    w.postMessage(msg, transfer);
  }

  forget(id: number, tellWorker: boolean): void {
    if (!this.channels.delete(id)) return;
    if (tellWorker) this.post({ type: 'cancel', id });
    if (this.channels.size === 0) this.worker?.unref();
  }

  /** The items in hand fail retryably (the runner reads them again); the next item starts a new worker. */
  private lost(w: Worker, why: string): void {
    if (this.worker !== w) return;
    this.worker = undefined;
    const failure: ItemFailure = { line: `parse: ${why}`, retryable: true, expected: true };
    for (const ch of [...this.channels.values()]) ch.fail(failure);
    this.channels.clear();
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }
}

interface Kept {
  channel: ItemChannel;
  source: string;
  expiry: NodeJS.Timeout;
}

/** A fixed number of decode workers; each item goes to the one with the fewest in hand. */
export class DecodePool implements Decoder {
  private readonly slots: Slot[];
  private nextId = 1;
  private closed = false;
  /** Decodings runBatch kept for the next delivery of the same item (see ItemDecoding.keep). */
  private readonly kept = new Map<RawItem, Kept>();

  private readonly keepMs: number;

  /** `limits`: each worker's heap limits (Node's defaults when unset); `keepMs`: see KEEP_MS. */
  constructor(
    private readonly spec: WorkerSpec,
    size: number,
    opts: { keepMs?: number; limits?: ResourceLimits } = {},
  ) {
    this.keepMs = opts.keepMs ?? KEEP_MS;
    this.slots = Array.from({ length: size }, () => new Slot(spec, opts.limits));
  }

  get size(): number {
    return this.slots.length;
  }

  get keptCount(): number {
    return this.kept.size;
  }

  /** Starts every worker now, before there is work, so their start-up overlaps the caller's. */
  warm(): void {
    for (const s of this.slots) s.start().unref();
  }

  decode(item: RawItem, source: string): ItemDecoding | undefined {
    const kept = this.claim(item, source);
    if (kept) return kept;
    if (this.closed || this.slots.length === 0 || !this.spec.routes[source]) return undefined;
    const wire = wireBody(item);
    return wire && this.dispatch(item, source, wire.body, wire.transfer);
  }

  /**
   * Some lines of a stream item the caller reads, for a parser that reads each line alone
   * (Parser.parseLines): `logferry decode` splits a big file so between the workers.
   */
  decodeLines(item: RawItem, lines: Line[], source: string): ItemDecoding | undefined {
    if (this.closed || this.slots.length === 0 || !this.spec.routes[source]) return undefined;
    return this.dispatch(item, source, { kind: 'lines', lines }, []);
  }

  private dispatch(item: RawItem, source: string, body: WireBody, transfer: ArrayBuffer[]): ItemDecoding {
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.channels.size < slot.channels.size) slot = s;
    const id = this.nextId++;
    const ch = new ItemChannel(id, item.origin, slot, (c) => this.keep(item, source, c));
    const msg: ToWorker = { type: 'item', id, source, origin: item.origin, body };
    if (item.parser !== undefined) msg.parser = item.parser;
    slot.send(ch, msg, transfer);
    return ch;
  }

  private keep(item: RawItem, source: string, channel: ItemChannel): void {
    if (this.closed) {
      channel.cancel();
      return;
    }
    this.kept.get(item)?.channel.cancel();
    const expiry = setTimeout(() => {
      if (this.kept.get(item)?.channel !== channel) return;
      this.kept.delete(item);
      channel.cancel();
    }, this.keepMs);
    // A kept decoding is a guess about the next delivery: it must not keep the process alive.
    expiry.unref();
    this.kept.set(item, { channel, source, expiry });
  }

  /** The decoding kept for this very item object (same source), if any. */
  private claim(item: RawItem, source: string): ItemChannel | undefined {
    const k = this.kept.get(item);
    if (!k) return undefined;
    this.kept.delete(item);
    clearTimeout(k.expiry);
    if (k.source === source) return k.channel;
    k.channel.cancel();
    return undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const k of this.kept.values()) {
      clearTimeout(k.expiry);
      k.channel.cancel();
    }
    this.kept.clear();
    await Promise.all(this.slots.map((s) => s.close()));
  }
}
