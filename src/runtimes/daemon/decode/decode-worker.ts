/**
 * A decode worker thread (see pool.ts): parses the items the main thread sends, one at a time, in
 * the order they came, and sends back their events as JSON texts. It holds no sink, rule, secret
 * or checkpoint; it opens only the inbox files it is told to.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ItemBody, RawItem } from '../../../core/batch.js';
import { isDraftList, type Line, type ParseContext, type Parser } from '../../../core/component.js';
import { parsers } from '../../../parsers/registry.js';
import { openRegularFile } from '../../../platform/fsutil.js';
import { decodeItem } from './decode-item.js';
import type { ToWorker, WireBody, WireChunk, WorkerSpec } from './wire.js';

/** Chunks of one item sent and not yet taken by the main thread, at most: bounds memory on huge files. */
const AHEAD = 4;

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
  unacked: number;
  cancelled: boolean;
  wake?: () => void;
}
const queue: Pending[] = [];
const byId = new Map<number, Pending>();
let running = false;

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
  p.unacked++;
  if (p.unacked < AHEAD || p.cancelled) return Promise.resolve();
  return new Promise((r) => {
    p.wake = r;
  });
}

/**
 * Lines of a stream item the main thread read (its parser reads each line alone): the item stands
 * for the whole stream, which is not opened here, and the parser is given just these lines.
 */
function linesOf(parser: Parser | undefined, lines: Line[]): Parser | undefined {
  const parseLines = parser?.parseLines?.bind(parser);
  if (!parser || !parseLines) return parser;
  const parseChunks = (item: RawItem, ctx: ParseContext) => parseLines(item, lines, ctx);
  async function* parse(item: RawItem, ctx: ParseContext) {
    for await (const chunk of parseChunks(item, ctx)) yield* isDraftList(chunk) ? chunk : [chunk];
  }
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
      cancelled: () => p.cancelled,
    },
    (chunk) => send(p, chunk),
  );
}

async function drain(): Promise<void> {
  running = true;
  for (let p = queue.shift(); p; p = queue.shift()) {
    if (!p.cancelled) await decodeNext(p);
    byId.delete(p.msg.id);
  }
  running = false;
}

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'item') {
    const p: Pending = { msg, unacked: 0, cancelled: false };
    queue.push(p);
    byId.set(msg.id, p);
    if (!running) void drain();
    return;
  }
  const p = byId.get(msg.id);
  if (!p) return;
  if (msg.type === 'ack') p.unacked--;
  else p.cancelled = true;
  if (p.wake && (p.cancelled || p.unacked < AHEAD)) {
    const wake = p.wake;
    p.wake = undefined;
    wake();
  }
});
