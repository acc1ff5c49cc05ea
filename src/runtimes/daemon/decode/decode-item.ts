import type { RawItem } from '../../../core/batch.js';
import {
  chunksOf,
  type DraftChunk,
  isDraftList,
  type ParseContext,
  type Parser,
  type Transform,
} from '../../../core/component.js';
import type { DecodedReject, ItemFailure } from '../../../core/decoder.js';
import { ParseError } from '../../../core/errors.js';
import { type EventDraft, type LogEvent, serializedDoc } from '../../../core/event.js';
import type { Limits } from '../../../core/limits.js';
import { applyTransforms, failureOf, finalizeEvent, rejectOf } from '../../../core/pipeline.js';
import { LineBuffer, type LineBufferPool } from '../../../formats/line_buffer.js';
import { addNdjson } from '../../../sinks/stdout/index.js';
import type { WireChunk } from './wire.js';

export interface ItemDecodeOptions {
  limits: Limits;
  trustEventFields: boolean;
  transforms: readonly Transform[];
  chunkEvents: number;
  /** See WorkerSpec.output. */
  output?: 'doc' | 'envelope';
  /** With `output`: where to take buffers to encode chunks into. */
  buffers?: LineBufferPool;
  /** True once the main thread no longer wants this item. */
  cancelled(): boolean;
}

/**
 * A chunk is sent once its JSON texts reach this many characters (or `chunkEvents` events): its
 * text is copied three times on its way (joined, sent, taken), and copies that stay in the CPU's
 * cache cost much less; 2,000-event chunks (about 1.2 MB) made the inbox path ~10 % dearer in CPU.
 */
export const WIRE_CHUNK_CHARS = 64 * 1024;
interface Builder {
  readonly size: number;
  /** Characters of JSON text collected so far (0 where the chunk is cut by events alone). */
  readonly chars: number;
  rejects: DecodedReject[];
  add(ev: LogEvent): void;
  take(id: number, done: boolean, failure?: ItemFailure): WireChunk;
}

/** Collects events as JSON texts plus the few fields the main thread needs beside them. */
class ChunkBuilder implements Builder {
  private texts: string[] = [];
  /** Characters of JSON text collected so far. */
  chars = 0;
  private ids: string[] = [];
  private datasets: string[] = [];
  private timestamps: number[] = [];
  private originals: (string | undefined)[] | undefined;
  rejects: DecodedReject[] = [];

  get size(): number {
    return this.texts.length;
  }

  add(ev: LogEvent): void {
    // Most parsers keep no original: the array exists only once one event has one.
    if (ev.original !== undefined && this.originals === undefined)
      this.originals = new Array<string | undefined>(this.texts.length).fill(undefined);
    this.originals?.push(ev.original);
    const text = serializedDoc(ev);
    this.chars += text.length;
    this.texts.push(text);
    this.ids.push(ev.id);
    this.datasets.push(ev.dataset);
    this.timestamps.push(ev.timestamp);
  }

  take(id: number, done: boolean, failure?: ItemFailure): WireChunk {
    const ends = new Uint32Array(this.texts.length);
    let at = 0;
    for (let i = 0; i < this.texts.length; i++) ends[i] = at += this.texts[i]!.length;
    const chunk: WireChunk = {
      id,
      json: this.texts.join(''),
      ends,
      ids: this.ids,
      datasets: this.datasets,
      timestamps: Float64Array.from(this.timestamps),
      rejects: this.rejects,
      done,
    };
    if (this.originals) chunk.originals = this.originals;
    if (failure) chunk.failure = failure;
    this.texts = [];
    this.chars = 0;
    this.ids = [];
    this.datasets = [];
    this.timestamps = [];
    this.originals = undefined;
    this.rejects = [];
    return chunk;
  }
}

/**
 * Encodes events as the lines the stdout sink writes (its addNdjson) as they come: the main
 * thread only writes them, and the bytes cross without a copy. Each chunk is encoded into a buffer
 * the main thread gave back after writing an earlier one (`buffers`), so the worker does not fault
 * in a fresh megabyte of pages per chunk.
 */
class NdjsonBuilder implements Builder {
  private lines: LineBuffer | undefined;
  private count = 0;
  rejects: DecodedReject[] = [];
  readonly chars = 0;

  constructor(
    private readonly format: 'doc' | 'envelope',
    private readonly buffers: LineBufferPool | undefined,
  ) {}

  get size(): number {
    return this.count;
  }

  add(ev: LogEvent): void {
    this.lines ??= this.buffers?.take() ?? new LineBuffer();
    addNdjson(this.lines, [ev], this.format);
    this.count++;
  }

  take(id: number, done: boolean, failure?: ItemFailure): WireChunk {
    const lines = this.lines ?? this.buffers?.take() ?? new LineBuffer();
    const all = lines.bytes();
    const chunk: WireChunk = {
      id,
      json: '',
      ends: new Uint32Array(0),
      ids: [],
      datasets: [],
      timestamps: new Float64Array(0),
      // A view of the buffer's own ArrayBuffer (LineBuffer never uses Buffer's shared pool), sent whole.
      ndjson: {
        bytes: new Uint8Array(all.buffer as ArrayBuffer, all.byteOffset, all.byteLength),
        count: this.count,
      },
      rejects: this.rejects,
      done,
    };
    if (failure) chunk.failure = failure;
    this.lines = undefined;
    this.count = 0;
    this.rejects = [];
    return chunk;
  }
}

/**
 * What runBatch's parse step does for one item (parse, finalize, transform), with the events
 * sent on as JSON texts in chunks of `chunkEvents` events or WIRE_CHUNK_CHARS characters, whichever
 * comes first; `send` resolves when another chunk may go.
 * Ends with one chunk marked done that carries any failure, exactly as parsing in the main thread
 * would have ended the item.
 */
export async function decodeItem(
  id: number,
  item: RawItem,
  parser: Parser | undefined,
  opts: ItemDecodeOptions,
  send: (chunk: WireChunk) => Promise<void>,
): Promise<void> {
  const out: Builder = opts.output ? new NdjsonBuilder(opts.output, opts.buffers) : new ChunkBuilder();
  // The parser's fixed-shape serializer is only right for the doc it built: not after transforms.
  const fastJson = opts.transforms.length === 0;
  const ctx: ParseContext = {
    limits: opts.limits,
    trustEventFields: opts.trustEventFields,
    reject: async (part, error) => {
      out.rejects.push(rejectOf(item, part, error));
    },
  };
  let failure: ItemFailure | undefined;
  try {
    if (!parser) throw new ParseError(`no parser named '${item.parser}'`, { origin: item.origin });
    // As in runBatch: a parser's own chunks (a record's events as one array) where it has them,
    // and a parser with everything in memory read synchronously, without a promise per event.
    const chunks = chunksOf(parser, item, ctx);
    const take = (draft: EventDraft): boolean => {
      const ev = applyTransforms(finalizeEvent(draft, item.origin, fastJson), opts.transforms);
      if (ev) out.add(ev);
      return out.size >= opts.chunkEvents || out.chars >= WIRE_CHUNK_CHARS;
    };
    const sendFull = async () => {
      await send(out.take(id, false));
      return opts.cancelled();
    };
    const takeRest = async (list: readonly EventDraft[], from: number): Promise<boolean> => {
      for (let d = from; d < list.length; d++) if (take(list[d]!) && (await sendFull())) return true;
      return false;
    };
    /** False, or (only when a full chunk went out) a promise of whether the item was cancelled. */
    const takeChunk = (chunk: DraftChunk): Promise<boolean> | false => {
      if (!isDraftList(chunk)) return take(chunk) && sendFull();
      for (let d = 0; d < chunk.length; d++)
        if (take(chunk[d]!)) return sendFull().then((cancelled) => cancelled || takeRest(chunk, d + 1));
      return false;
    };
    if (Symbol.iterator in chunks && !(Symbol.asyncIterator in chunks)) {
      for (const chunk of chunks as Iterable<DraftChunk>) {
        const sent = takeChunk(chunk);
        if (sent && (await sent)) return;
      }
    } else {
      for await (const chunk of chunks) {
        const sent = takeChunk(chunk);
        if (sent && (await sent)) return;
      }
    }
  } catch (e) {
    failure = failureOf(item, e);
  }
  if (!opts.cancelled()) await send(out.take(id, true, failure));
}
