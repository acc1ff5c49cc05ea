import type { Line } from '../../../core/component.js';
import type { DecodedReject, ItemFailure } from '../../../core/decoder.js';
import type { Origin } from '../../../core/event.js';
import type { Limits } from '../../../core/limits.js';
import type { TransformConfig } from '../../../transforms/index.js';

/** How a decode worker parses one source's items: what buildApp does for its route. */
export interface RouteSpec {
  parser: string;
  options: Record<string, unknown>;
  /** Inbox files may be Lambda events or base64 lines (withEnvelopes). */
  envelope: boolean;
  trustEventFields: boolean;
}

/** Everything a worker needs, sent once when it starts: plain data, no secrets (sinks stay in the main thread). */
export interface WorkerSpec {
  routes: Record<string, RouteSpec>;
  transforms: TransformConfig[];
  limits: Limits;
  /** Events per chunk sent back, at most (the pipeline's chunk_events; chunks are also cut by size, see WIRE_CHUNK_CHARS). */
  chunkEvents: number;
  /**
   * Send events as the NDJSON lines the stdout sink would write, in this format, instead of JSON
   * texts with their fields: for a caller that only writes them out (`logferry decode`).
   */
  output?: 'doc' | 'envelope';
}

/** An item's body as it crosses to a worker: bytes are copied (small), files are opened by the worker. */
export type WireBody =
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'base64'; text: string }
  | { kind: 'file'; path: string; size?: number }
  /** Some lines of a stream item whose parser reads each line alone (Parser.parseLines). */
  | { kind: 'lines'; lines: Line[] };

export type ToWorker =
  | { type: 'item'; id: number; source: string; parser?: string; origin: Origin; body: WireBody }
  /** The main thread took a chunk of this item: the worker may run one more ahead. */
  | { type: 'ack'; id: number }
  | { type: 'cancel'; id: number }
  /** The bytes of an NDJSON chunk, written: the worker encodes a later chunk into them. */
  | { type: 'recycle'; buffer: ArrayBuffer };

/**
 * Decoded events as they cross back: the documents as one string of JSON texts (cut at `ends`),
 * which costs one copy, where cloning the event objects cost more than decoding them again.
 */
export interface WireChunk {
  id: number;
  json: string;
  ends: Uint32Array<ArrayBuffer>;
  ids: string[];
  datasets: string[];
  timestamps: Float64Array<ArrayBuffer>;
  /** With WorkerSpec.output: the events as NDJSON lines, UTF-8 (json, ends and the rest are empty). */
  ndjson?: { bytes: Uint8Array<ArrayBuffer>; count: number };
  /** Per event, when the parser kept the source event as it arrived (Duo). */
  originals?: (string | undefined)[];
  rejects: DecodedReject[];
  failure?: ItemFailure;
  /** The last chunk of the item. */
  done: boolean;
}
