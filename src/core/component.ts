import type { Batch, RawItem } from './batch.js';
import type { EventDraft, LogEvent, Origin } from './event.js';
import type { Limits } from './limits.js';

export interface ParseContext {
  limits: Limits;
  /**
   * The source's `trust_event_fields`: the payload may name its own `event.dataset` and
   * `event.id`. Unset or false, the parser's dataset and id replace whatever the payload claims.
   */
  trustEventFields?: boolean;
  /**
   * Sets aside one bad part of an item (a line, a record inside a wrapper) in the dead-letter
   * store and lets the parser go on with the rest. `ref` is appended to the item's origin.
   */
  reject(part: { ref: string; data?: Uint8Array | string }, error: Error): Promise<void>;
}

/** One draft, or the drafts of one unit of input read together (a CloudWatch Logs record's events). */
export type DraftChunk = EventDraft | readonly EventDraft[];

export function isDraftList(chunk: DraftChunk): chunk is readonly EventDraft[] {
  return Array.isArray(chunk);
}

/** One draft at a time from a parser's chunks: `parse` for a parser that has `parseChunks`. */
export async function* draftsOf(chunks: AsyncIterable<DraftChunk>): AsyncIterable<EventDraft> {
  for await (const chunk of chunks) {
    if (isDraftList(chunk)) yield* chunk;
    else yield chunk;
  }
}

/** Turns one raw item into zero or more events. Throws ParseError for input it cannot read. */
export interface Parser {
  readonly name: string;
  parse(item: RawItem, ctx: ParseContext): AsyncIterable<EventDraft> | Iterable<EventDraft>;
  /**
   * Optional, preferred by the pipeline: the same drafts as `parse`, in the same order, handed
   * over a record at a time where they come that way. Through nested async generators every
   * yielded value costs a promise per layer: per record instead of per event, that cost goes.
   */
  parseChunks?(item: RawItem, ctx: ParseContext): AsyncIterable<DraftChunk> | Iterable<DraftChunk>;
  /**
   * Optional, with parseLines: whether `parse` reads this stream item (whose first bytes are
   * `head`) a line at a time, each line on its own, so runs of its lines may be parsed apart (in
   * worker threads: `logferry decode` on a big file).
   */
  readsLinesAlone?(item: RawItem, head: Buffer): boolean;
  /**
   * The drafts of some lines of an item `readsLinesAlone` accepted: what `parse` makes of them in
   * that item, in order, bad lines set aside through `ctx.reject` as `parse` does.
   */
  parseLines?(item: RawItem, lines: readonly Line[], ctx: ParseContext): AsyncIterable<DraftChunk>;
}

/** A parser's drafts, in chunks where it hands them over so (`parseChunks`), else one at a time. */
export function chunksOf(
  parser: Parser,
  item: RawItem,
  ctx: ParseContext,
): AsyncIterable<DraftChunk> | Iterable<DraftChunk> {
  return parser.parseChunks ? parser.parseChunks(item, ctx) : parser.parse(item, ctx);
}

/** One line of a line-oriented item. */
export interface Line {
  /** 1-based line number. */
  no: number;
  text: string;
  /** Set when the line was longer than the limit; `text` is then empty. */
  oversize?: number;
}

/** Returns the event (possibly changed) or null to drop it. Pure; never does I/O. */
export type Transform = (event: LogEvent) => LogEvent | null;

export interface SinkFailure {
  /** Index into the events passed to `write`. */
  index: number;
  retryable: boolean;
  error: Error;
}

/**
 * A destination. `write` resolves once the events are durable at the destination and reports
 * each event that was not delivered; it never throws for per-event problems. Writing an event
 * twice (same id) must not create a duplicate.
 */
/** Who is writing: see `Batch.writer`. */
export interface WriteContext {
  writer?: string;
}

export interface Sink {
  readonly name: string;
  /**
   * The sink reads an event's document only as its JSON text (`serializedDoc`), never as objects.
   * When every sink of a route does (and no detector needs whole chunks: see Detector.start), the
   * pipeline keeps buffered events as their text alone (see `asText`): a chunk's document objects
   * die young instead of outliving scavenges. Only a hint: a sink that reads `doc` anyway gets it parsed back from the text.
   */
  readonly writesText?: boolean;
  write(events: readonly LogEvent[], ctx?: WriteContext): Promise<SinkFailure[]>;
  close(): Promise<void>;
  /**
   * `writer` committed everything it delivered: a crash will not replay any of it. Only sinks that
   * recognize replays by what they wrote (day files) need it; see core/uncommitted.ts.
   */
  committed?(writer: string): Promise<void>;
  /**
   * Closes the files it keeps open, to open them again by name on the next write (logrotate's
   * `postrotate`, SIGHUP). Only sinks that keep files open have it.
   */
  reopen?(): Promise<void>;
}

export interface DeadLetterEntry {
  kind: 'item' | 'event' | 'alert';
  source: string;
  sink?: string;
  origin: Origin;
  error: string;
  retryable: boolean;
  attempts: number;
  /** Parser that failed, so a replay can try again after a fix. */
  parser?: string;
  /** Original bytes (base64) of an item, when it was held in memory. */
  data?: string;
  /** The event (or alert) that a sink refused, for kind 'event'/'alert'. */
  event?: LogEvent | Record<string, unknown>;
  /** Position of damage in the input (byte offset, line), when the parser knew it. */
  position?: string;
}

export interface StoredDeadLetter extends DeadLetterEntry {
  id: string;
  time: string;
}

export interface DeadLetterStore {
  /** As Sink.reopen, for a store that keeps files open. */
  reopen?(): Promise<void>;
  put(entry: DeadLetterEntry): Promise<string>;
  list(): AsyncIterable<StoredDeadLetter>;
  remove(id: string): Promise<void>;
}

/** A checkpoint store: small JSON values under string keys, written atomically. */
export interface StateStore {
  get<T>(key: string): Promise<T | undefined>;
  put<T>(key: string, value: T): Promise<void>;
  delete(key: string): Promise<void>;
}

/** The detection stage (issue #7 plugs the rule engine in here). */
export interface Detector {
  /** Sees every chunk of events while they are delivered; `deadline` is the batch's (Lambda) deadline. */
  inspect(events: readonly LogEvent[], deadline?: import('./deadline.js').Deadline): Promise<void>;
  /**
   * Optional: detection that sees a batch's events one at a time, as they are taken, in the order
   * `inspect` would see them. Where every sink reads only JSON text, the pipeline then keeps each
   * event as its text alone at once (asText) instead of holding its document objects until the
   * chunk is written; it calls the returned `inspect` where it would have called `inspect` with
   * the chunk.
   */
  start?(): SeenEvents;
  close(): Promise<void>;
}

/**
 * Events seen one at a time (Detector.start); `inspect` acts on those seen since its last call.
 * The pipeline never lets `see` fail delivery: what it throws is thrown by the next `inspect`.
 */
export interface SeenEvents {
  see(ev: LogEvent): void;
  inspect(deadline?: import('./deadline.js').Deadline): Promise<void>;
}

export interface SourceContext {
  state: StateStore;
  signal: AbortSignal;
  limits: Limits;
  log: Logger;
  /** Delivers a batch; `cap` stops it starting new items once that many events were taken. */
  process(batch: Batch, cap?: import('./uncommitted.js').EventCap): Promise<import('./batch.js').BatchResult>;
  /** Tells the sinks that `writer` (a batch's `writer`) has committed all it delivered. */
  committed?(writer: string): Promise<void>;
}

/**
 * One unit of a source that the daemon steers on its own (a Kinesis shard, a Duo log): pause and
 * resume, and the run-time settings of the command set (docs/operations.md). A unit without one
 * of the optional methods answers that command with "not supported".
 */
export interface UnitControl {
  readonly unit: { readonly id: string };
  pause(): void;
  resume(): void;
  status(): Record<string, unknown>;
  health?(): UnitHealth;
  /** Wait between polls from the next poll on. */
  setIntervalMs?(ms: number): void;
  /** At most `n` more batches, then the unit holds until resumed; undefined lifts the limit. */
  setMaxCount?(n: number | undefined): void;
  /** Resets the error counters and the last error (the `clear` command). */
  clearErrors?(): void;
  /** The committed cursor as text, undefined before the first commit. */
  showCursor?(): string | undefined;
  /** Validates and commits a cursor given as text while the unit is paused; returns it as shown. */
  setCursor?(text: string): Promise<string>;
}

/** What every unit reports to /health and /metrics, whatever its source calls things. */
export type UnitHealthState =
  | 'starting'
  | 'running'
  | 'idle'
  | 'paused'
  | 'backing-off'
  | 'finished'
  | 'stopped'
  | 'failed';

export const UNIT_HEALTH_STATES: readonly UnitHealthState[] = [
  'starting',
  'running',
  'idle',
  'paused',
  'backing-off',
  'finished',
  'stopped',
  'failed',
];

/** How one unit of a source (a shard, a Duo log) is doing, for /health and the per-unit metrics. */
export interface UnitHealth {
  unit: string;
  state: UnitHealthState;
  events: number;
  errors: number;
  /** When it last read or committed successfully (epoch ms); before the first, when it started. */
  progressAt: number;
  /** When its checkpoint was last written (epoch ms); undefined until it writes one. */
  checkpointAt?: number | undefined;
  /** How far behind the newest data it is, when the source knows. */
  lagMs?: number | undefined;
  lastError?: string | undefined;
  /** Its current wait between polls, when it polls on an interval (daemon.health.lag_intervals). */
  intervalMs?: number | undefined;
}

/** A long-running source for the daemon: loops until the signal aborts. */
export interface Source {
  readonly name: string;
  run(ctx: SourceContext): Promise<void>;
  /** The units running now, for per-unit control. */
  units?(): readonly UnitControl[];
  /** Live numbers for the status API (shards, lag, files waiting…). */
  status?(): Record<string, unknown>;
  /** Its units' health, when it has units that are not UnitControls. */
  unitHealth?(): UnitHealth[];
  /** Resets the error counters and last errors it keeps itself (the `clear` command). */
  clearErrors?(): void;
}

export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}
