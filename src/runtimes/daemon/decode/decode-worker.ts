/**
 * A decode worker thread (see pool.ts): parses the items the main thread sends, in the order they
 * came, and sends back their events as JSON texts. One item at a time while it can go on; when
 * every item in hand waits for the main thread to take its chunks, the next one starts (up to
 * OPEN_ITEMS), so that a worker whose item is not being read yet (a file further on in the
 * delivery) does not sit idle. It holds no sink, rule, secret
 * or checkpoint; it opens only the inbox files it is told to.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ItemBody, RawItem } from '../../../core/batch.js';
import { draftsOf, type Line, type ParseContext, type Parser } from '../../../core/component.js';
import { LineBuffer, LineBufferPool } from '../../../formats/line_buffer.js';
import { parsers } from '../../../parsers/registry.js';
import { openRegularFile } from '../../../platform/fsutil.js';
import { decodeItem } from './decode-item.js';
import type { ToWorker, WireBody, WireChunk, WorkerSpec } from './wire.js';

/**
 * What of one item may be sent and not yet taken by the main thread: bounds memory on huge files.
 * In characters of JSON (about what 4 chunks of 2,000 CloudWatch Logs events hold) and in chunks
 * (which are small: see WIRE_CHUNK_CHARS).
 */
const AHEAD_CHARS = 4 * 1024 * 1024;
const AHEAD_CHUNKS = 64;
/** Items decoded at once, at most (so at most OPEN_ITEMS × AHEAD_CHARS wait for the main thread). */
const OPEN_ITEMS = 4;

const spec = workerData as WorkerSpec;
const port = parentPort!;
// Loaded only when there are transforms: their schemas and regex engine are most of a start-up.
const transforms =
  spec.transforms.length === 0
    ? []
    : spec.transforms.map((await import('../../../transforms/index.js')).createTransform);
const parserCache = new Map<string, Promise<Parser | undefined>>();

interface Pending {
  msg: Extract<ToWorker, { type: 'item' }>;
  /** Sizes (characters) of the chunks sent and not acknowledged, oldest first: acks come in order. */
  unacked: number[];
  unackedChars: number;
  cancelled: boolean;
  wake?: () => void;
}
const queue: Pending[] = [];
const byId = new Map<number, Pending>();
/**
 * NDJSON buffers the main thread wrote and gave back (WorkerSpec.output): as many as chunks can be
 * on their way, and none so big (over 4 MiB) that an odd huge chunk pins its memory.
 */
const buffers = new LineBufferPool(4 * 1024 * 1024, 8);
/** Items started and not finished. */
let open = 0;
/** Of those, the ones not waiting for the main thread to take their chunks. */
let runnable = 0;

function loadParser(source: string, override: string | undefined): Promise<Parser | undefined> {
  const route = spec.routes[source]!;
  const key = override === undefined ? `route:${source}` : `name:${override}`;
  let p = parserCache.get(key);
  if (!p) {
    p = (async () => {
      const name = override ?? route.parser;
      const load = parsers[name];
      if (!load) return undefined;
      const parser = (await load()).create(override === undefined ? route.options : {});
      if (override !== undefined || !route.envelope) return parser;
      return (await import('../../../formats/envelope.js')).withEnvelopes(parser);
    })();
    parserCache.set(key, p);
  }
  return p;
}

function bodyOf(b: Exclude<WireBody, { kind: 'lines' }>): ItemBody {
  if (b.kind === 'bytes')
    return { kind: 'bytes', bytes: Buffer.from(b.bytes.buffer, b.bytes.byteOffset, b.bytes.byteLength) };
  if (b.kind === 'base64') return b;
  return { kind: 'stream', open: () => openRegularFile(b.path), size: b.size, file: b.path };
}

function send(p: Pending, chunk: WireChunk): Promise<void> {
  const transfer: ArrayBuffer[] = [chunk.ends.buffer, chunk.timestamps.buffer];
  if (chunk.ndjson) transfer.push(chunk.ndjson.bytes.buffer);
  port.postMessage(chunk, transfer);
  if (chunk.done) return Promise.resolve();
  p.unacked.push(chunk.json.length);
  p.unackedChars += chunk.json.length;
  if (!isFull(p) || p.cancelled) return Promise.resolve();
  runnable--;
  startMore();
  return new Promise((r) => {
    p.wake = () => {
      runnable++;
      r();
    };
  });
}

function isFull(p: Pending): boolean {
  return p.unackedChars >= AHEAD_CHARS || p.unacked.length >= AHEAD_CHUNKS;
}

/**
 * Lines of a stream item the main thread read (its parser reads each line alone): the item stands
 * for the whole stream, which is not opened here, and the parser is given just these lines.
 */
function linesOf(parser: Parser | undefined, lines: Line[]): Parser | undefined {
  const parseLines = parser?.parseLines?.bind(parser);
  if (!parser || !parseLines) return parser;
  const parseChunks = (item: RawItem, ctx: ParseContext) => parseLines(item, lines, ctx);
  const parse = (item: RawItem, ctx: ParseContext) => draftsOf(parseChunks(item, ctx));
  return { name: parser.name, parse, parseChunks };
}

const unopened: ItemBody = {
  kind: 'stream',
  open: () => Promise.reject(new Error('the main thread reads this stream: its lines come with the item')),
};

async function decodeNext(p: Pending): Promise<void> {
  const { msg } = p;
  const { body } = msg;
  const item: RawItem = {
    ackId: String(msg.id),
    origin: msg.origin,
    body: body.kind === 'lines' ? unopened : bodyOf(body),
  };
  if (msg.parser !== undefined) item.parser = msg.parser;
  const route = spec.routes[msg.source]!;
  const parser = await loadParser(msg.source, msg.parser);
  await decodeItem(
    msg.id,
    item,
    body.kind === 'lines' ? linesOf(parser, body.lines) : parser,
    {
      limits: spec.limits,
      trustEventFields: route.trustEventFields,
      transforms,
      chunkEvents: spec.chunkEvents,
      output: spec.output,
      buffers,
      cancelled: () => p.cancelled,
    },
    (chunk) => send(p, chunk),
  );
}

/** Starts the next items while none in hand can go on (the oldest first: the main thread reads in order). */
function startMore(): void {
  while (runnable === 0 && open < OPEN_ITEMS && queue.length > 0) void run(queue.shift()!);
}

async function run(p: Pending): Promise<void> {
  open++;
  runnable++;
  try {
    if (!p.cancelled) await decodeNext(p);
  } finally {
    byId.delete(p.msg.id);
    open--;
    runnable--;
    startMore();
  }
}

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'item') {
    const p: Pending = { msg, unacked: [], unackedChars: 0, cancelled: false };
    queue.push(p);
    byId.set(msg.id, p);
    startMore();
    return;
  }
  if (msg.type === 'recycle') {
    buffers.give(new LineBuffer(Buffer.from(msg.buffer)));
    return;
  }
  const p = byId.get(msg.id);
  if (!p) return;
  if (msg.type === 'ack') p.unackedChars -= p.unacked.shift() ?? 0;
  else p.cancelled = true;
  if (p.wake && (p.cancelled || !isFull(p))) {
    const wake = p.wake;
    p.wake = undefined;
    wake();
  }
});
