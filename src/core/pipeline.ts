import type { Batch, BatchResult, ItemResult, RawItem } from './batch.js';
import {
  chunksOf,
  type DeadLetterEntry,
  type DeadLetterStore,
  type Detector,
  type DraftChunk,
  isDraftList,
  type Logger,
  type ParseContext,
  type Parser,
  type SeenEvents,
  type Sink,
  type Transform,
  type WriteContext,
} from './component.js';
import { Deadline } from './deadline.js';
import type { DecodedReject, Decoder, ItemDecoding, ItemFailure } from './decoder.js';
import { type DeliveryMemory, recordRound, untaken } from './delivery-memory.js';
import { describeError, isLogferryError, ParseError, toError } from './errors.js';
import {
  asText,
  attachSerializer,
  type EventDraft,
  FinalEvent,
  type LogEvent,
  type Origin,
} from './event.js';
import { eventId } from './ids.js';
import type { Limits } from './limits.js';
import type { Metrics } from './metrics.js';
import { type BackoffOptions, backoffDelay, sleep } from './retry.js';
import { isoTime } from './time.js';
import type { EventCap } from './uncommitted.js';

export interface Route {
  parser: Parser;
  sinks: Sink[];
  /** The source's `trust_event_fields`, handed to its parser (see ParseContext). */
  trustEventFields?: boolean;
}

export interface DeliveryOptions {
  /** Attempts per sink write before giving the events back as failed. */
  maxAttempts: number;
  backoff: BackoffOptions;
  /** Events handed to sinks at a time; bounds memory for huge objects. */
  chunkEvents: number;
}

export interface Pipeline {
  route(source: string): Route;
  parser(name: string): Promise<Parser | undefined>;
  transforms: readonly Transform[];
  detector?: Detector;
  deadLetter: DeadLetterStore;
  limits: Limits;
  delivery: DeliveryOptions;
  log: Logger;
  metrics: Metrics;
  /** Which sinks already took events of items being retried (see DeliveryMemory). */
  memory?: DeliveryMemory;
  /** Decodes items off this thread (the daemon's worker pool); without it, parsing runs here. */
  decoder?: Decoder;
}

/**
 * Gives a draft its id and the fields every event has. The draft's doc is taken over (not copied:
 * this runs once per event); parsers that want `@timestamp` first put it first themselves.
 * `fastJson` lets the draft's own serializer write the doc (only when nothing will change it).
 */
export function finalizeEvent(draft: EventDraft, origin: Origin, fastJson = false): LogEvent {
  const id = draft.id ?? eventId(draft.dataset, draft.idParts);
  const doc = draft.doc as LogEvent['doc'];
  doc['@timestamp'] = isoTime(Number.isFinite(draft.timestamp) ? draft.timestamp : 0);
  const ev = doc.event;
  if (ev && typeof ev === 'object' && !Array.isArray(ev)) {
    (ev as Record<string, unknown>).id = id;
    (ev as Record<string, unknown>).dataset = draft.dataset;
  } else doc.event = { id, dataset: draft.dataset };
  const event = new FinalEvent(id, draft.dataset, draft.timestamp, doc, origin);
  if (draft.original !== undefined) event.original = draft.original;
  if (fastJson && draft.toJson) attachSerializer(event, draft.toJson);
  return event;
}

function isSyncIterable<T>(it: Iterable<T> | AsyncIterable<T>): it is Iterable<T> {
  return Symbol.iterator in it && !(Symbol.asyncIterator in it);
}

export function applyTransforms(ev: LogEvent, transforms: readonly Transform[]): LogEvent | null {
  let cur: LogEvent | null = ev;
  for (const t of transforms) {
    if (cur === null) return null;
    cur = t(cur);
  }
  return cur;
}

/**
 * Runs one batch through parse → transform → detect → deliver and says, per item, whether it
 * can be acknowledged. Events from many items share sink writes (chunked by `chunkEvents`);
 * an item is delivered only when all its events are. Never throws for a bad item.
 */
export async function runBatch(
  batch: Batch,
  p: Pipeline,
  deadline: Deadline = Deadline.never(),
  cap?: EventCap,
): Promise<BatchResult> {
  // Every item starts decoding now (when a decoder takes it), so decoding runs ahead of delivery.
  const decodings = p.decoder ? batch.items.map((item) => p.decoder!.decode(item, batch.source)) : [];
  let deferredFrom: number | undefined;
  try {
    const result = await deliverBatch(batch, p, deadline, decodings, cap);
    deferredFrom = result.deferredFrom;
    return result;
  } finally {
    releaseDecodings(decodings, deferredFrom);
  }
}

/**
 * Items not read to the end (the deadline came first) stop decoding; those the event cap deferred
 * are delivered next by the runner, so their decoding goes on for that delivery to pick up.
 */
function releaseDecodings(decodings: readonly (ItemDecoding | undefined)[], deferredFrom?: number): void {
  decodings.forEach((d, i) => {
    if (deferredFrom !== undefined && i >= deferredFrom && d?.keep) d.keep();
    else d?.cancel();
  });
}

async function deliverBatch(
  batch: Batch,
  p: Pipeline,
  deadline: Deadline,
  decodings: readonly (ItemDecoding | undefined)[],
  cap: EventCap | undefined,
): Promise<BatchResult> {
  const run = new BatchRun(batch, p, deadline);
  let cutShort = false;
  let deferredFrom: number | undefined;
  for (let i = 0; i < batch.items.length; i++) {
    if (deadline.expired()) {
      cutShort = true;
      markRest(run.results, i, 'not tried: deadline reached');
      break;
    }
    if (capReached(run.total, cap)) {
      deferredFrom = i;
      markRest(run.results, i, 'not tried: event cap of this delivery reached');
      break;
    }
    const decoding = decodings[i];
    if (decoding) await run.takeDecoded(i, decoding);
    else {
      // Most items parse without waiting for anything: no promise for those.
      const parsing = run.parseItem(i);
      if (parsing) await parsing;
    }
  }
  await run.flush();
  const { results, total } = run;
  p.metrics.inc('logferry_events_total', { source: batch.source }, total, 'events parsed');
  countItems(p, batch.source, results.slice(0, deferredFrom));
  return deferredFrom === undefined
    ? { items: results, events: total, cutShort }
    : { items: results, events: total, cutShort, deferredFrom };
}

/**
 * Items by status, one metrics update per status (per item, naming the labels cost more than
 * a Duo event's parsing). Deferred items were not tried: they are counted when they are.
 */
function countItems(p: Pipeline, source: string, results: readonly ItemResult[]): void {
  const byStatus = new Map<ItemResult['status'], number>();
  for (const r of results) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
  for (const [status, n] of byStatus) p.metrics.inc('logferry_items_total', { source, status }, n, 'items');
}

/**
 * One batch on its way through: events of many items share sink writes (chunked by
 * `chunkEvents`), and each event remembers its item so a failed write fails that item.
 */
class BatchRun {
  readonly results: ItemResult[];
  total = 0;
  private readonly route: Route;
  private readonly buffered: LogEvent[] = [];
  private readonly owners: number[] = [];
  /** A parser's fixed-shape serializer is only right for the doc it built: not after transforms. */
  private readonly fastJson: boolean;
  /** Parsers items named, looked up once per batch. */
  private readonly parsers = new Map<string, Parser>();
  /** Buffered events are kept as their text: nothing after this reads their document objects. */
  private readonly textOnly: boolean;
  /** The detector's view of this batch, event by event, where it has one (Detector.start). */
  private readonly seen: SeenEvents | undefined;

  constructor(
    private readonly batch: Batch,
    private readonly p: Pipeline,
    private readonly deadline: Deadline,
  ) {
    this.route = p.route(batch.source);
    this.results = batch.items.map((i) => ({ ackId: i.ackId, status: 'delivered', events: 0 }));
    this.fastJson = p.transforms.length === 0;
    const allText = this.route.sinks.length > 0 && this.route.sinks.every((s) => s.writesText);
    // Rules see each event as it is taken, while it is still objects; then only its text is kept.
    const seen = allText ? p.detector?.start?.() : undefined;
    this.seen = seen && reportingLate(seen);
    this.textOnly = allText && (!p.detector || this.seen !== undefined);
  }

  /** Buffers one event of item `owner`; true when the buffer is full and must be flushed. */
  private take(ev: LogEvent, owner: number): boolean {
    this.seen?.see(ev);
    this.buffered.push(this.textOnly ? asText(ev) : ev);
    this.owners.push(owner);
    this.results[owner]!.events++;
    this.total++;
    return this.buffered.length >= this.p.delivery.chunkEvents;
  }

  private takeDraft(draft: EventDraft, owner: number): boolean {
    const item = this.batch.items[owner]!;
    const ev = applyTransforms(finalizeEvent(draft, item.origin, this.fastJson), this.p.transforms);
    return ev ? this.take(ev, owner) : false;
  }

  async flush(): Promise<void> {
    if (this.buffered.length === 0) return;
    const events = this.buffered.splice(0);
    const who = this.owners.splice(0);
    const failedOwners = await deliver(
      events,
      this.route.sinks,
      this.p,
      this.deadline,
      { writer: this.batch.writer },
      this.seen,
    );
    for (const idx of failedOwners.keys()) {
      const owner = this.results[who[idx]!]!;
      owner.status = 'failed';
      owner.error = failedOwners.get(idx);
    }
  }

  /** An item a decode worker read: its events, its rejected parts and how it ended. */
  async takeDecoded(i: number, decoding: ItemDecoding): Promise<void> {
    const item = this.batch.items[i]!;
    const result = this.results[i]!;
    const parserName = item.parser ?? this.route.parser.name;
    for await (const chunk of decoding) {
      // Text is for a caller that writes it out itself; here it would be lost.
      if (chunk.ndjson) throw new Error('runBatch takes events, not NDJSON text, from a decoder');
      for (const ev of chunk.events) if (this.take(ev, i)) await this.flush();
      for (const r of chunk.rejects) await setAside(item, r, parserName, this.p, result);
      if (chunk.failure) await settleFailedItem(item, chunk.failure, parserName, this.p, result);
    }
  }

  /**
   * Parses an item in this thread. Never rejects: a damaged item goes to the dead-letter store.
   * Synchronous (no promise) when the parser is known and yields in memory without a flush in
   * between, as a Duo event does: a promise per item was a tenth of a Duo pull's allocations.
   */
  parseItem(i: number): Promise<void> | undefined {
    const name = this.batch.items[i]!.parser;
    const parser = name === undefined ? this.route.parser : this.parsers.get(name);
    return parser ? this.parseWith(parser, i) : this.lookUpAndParse(i, name!);
  }

  /** An item naming its parser: looked up once per batch (items of a Duo page all name the same). */
  private async lookUpAndParse(i: number, name: string): Promise<void> {
    const item = this.batch.items[i]!;
    let parser: Parser | undefined;
    try {
      parser = await this.p.parser(name);
      if (!parser) throw new ParseError(`no parser named '${name}'`, { origin: item.origin });
    } catch (e) {
      await deadLetterItem(item, e, name, this.p, this.results[i]!);
      return;
    }
    this.parsers.set(name, parser);
    await this.parseWith(parser, i);
  }

  private parseWith(parser: Parser, i: number): Promise<void> | undefined {
    const item = this.batch.items[i]!;
    const result = this.results[i]!;
    const parserName = item.parser ?? this.route.parser.name;
    const ctx: ParseContext = {
      limits: this.p.limits,
      trustEventFields: this.route.trustEventFields === true,
      reject: (part, error) => setAside(item, rejectOf(item, part, error), parserName, this.p, result),
    };
    // Events parsed before the damage stay buffered and are delivered; the item goes to the
    // dead-letter store so nothing is lost.
    const damaged = (e: unknown) => deadLetterItem(item, e, parserName, this.p, result);
    let it: Iterator<DraftChunk> | undefined;
    try {
      const chunks = chunksOf(parser, item, ctx);
      // A parser with everything in memory yields synchronously: `for await` would cost a
      // promise and a microtask per event, more than the rest of the loop.
      if (!isSyncIterable(chunks)) return this.takeAsync(chunks, i).catch(damaged);
      it = chunks[Symbol.iterator]();
      for (let r = it.next(); !r.done; r = it.next()) {
        const flushing = this.takeChunk(r.value, i);
        if (flushing) return this.takeRestAfter(flushing, it, i).catch(damaged);
      }
      return undefined;
    } catch (e) {
      closeQuietly(it);
      return damaged(e);
    }
  }

  private async takeAsync(chunks: AsyncIterable<DraftChunk>, i: number): Promise<void> {
    for await (const chunk of chunks) {
      const flushing = this.takeChunk(chunk, i);
      if (flushing) await flushing;
    }
  }

  /** The rest of a synchronous parse, after a flush its first chunks filled. */
  private async takeRestAfter(flushing: Promise<void>, it: Iterator<DraftChunk>, i: number): Promise<void> {
    try {
      await flushing;
      for (let r = it.next(); !r.done; r = it.next()) {
        const more = this.takeChunk(r.value, i);
        if (more) await more;
      }
    } catch (e) {
      closeQuietly(it);
      throw e;
    }
  }

  /** Takes a parser's chunk; a promise only when a full buffer is being flushed (no microtask per event). */
  private takeChunk(chunk: DraftChunk, i: number): Promise<void> | undefined {
    if (!isDraftList(chunk)) return this.takeDraft(chunk, i) ? this.flush() : undefined;
    for (let d = 0; d < chunk.length; d++) {
      // A full buffer mid-chunk: flush, then go on with the rest of the chunk.
      if (this.takeDraft(chunk[d]!, i)) return this.flush().then(() => this.takeRest(chunk, d + 1, i));
    }
    return undefined;
  }

  private async takeRest(chunk: readonly EventDraft[], from: number, i: number): Promise<void> {
    for (let d = from; d < chunk.length; d++) if (this.takeDraft(chunk[d]!, i)) await this.flush();
  }
}

/** Ends a parser's iterator left midway (as `for…of` does when its body throws). */
function closeQuietly(it: Iterator<unknown> | undefined): void {
  try {
    it?.return?.();
  } catch {
    // The first error is the one that counts.
  }
}

/** Items from `from` on were not tried; they fail with `why` and come again. */
function markRest(results: ItemResult[], from: number, why: string): void {
  for (let j = from; j < results.length; j++) {
    results[j]!.status = 'failed';
    results[j]!.error = why;
  }
}

function capReached(events: number, cap: EventCap | undefined): boolean {
  return cap !== undefined && events >= cap.events;
}

/** A part of an item that a parser rejected, described with the part's origin. */
export function rejectOf(
  item: RawItem,
  part: { ref: string; data?: Uint8Array | string },
  error: Error,
): DecodedReject {
  const origin = { ...item.origin, ref: `${item.origin.ref} ${part.ref}` };
  const line = describeError(error, origin);
  const data = part.data === undefined ? undefined : Buffer.from(part.data).toString('base64');
  return { ref: part.ref, line, data };
}

/** Dead-letters a part of an item a decoder rejected (the item goes on). */
export async function setAside(
  item: RawItem,
  r: DecodedReject,
  parserName: string,
  p: Pipeline,
  result: ItemResult,
): Promise<void> {
  const origin = { ...item.origin, ref: `${item.origin.ref} ${r.ref}` };
  p.log.warn({ source: item.origin.source }, r.line);
  await p.deadLetter.put(itemEntry(origin, r.line, parserName, r.data));
  result.rejected = (result.rejected ?? 0) + 1;
}

/** Why an item could not be read to its end, as one line that names the item. */
export function failureOf(item: RawItem, e: unknown): ItemFailure {
  const err = toError(e);
  const line = describeError(err, item.origin);
  return {
    line,
    retryable: isLogferryError(err) && err.retryable,
    expected: isLogferryError(err),
    position: err instanceof ParseError ? err.position : undefined,
  };
}

function deadLetterItem(item: RawItem, e: unknown, parserName: string, p: Pipeline, result: ItemResult) {
  return settleFailedItem(item, failureOf(item, e), parserName, p, result, e);
}

/** An item that could not be read to its end: failed (to be read again) or dead-lettered. */
export async function settleFailedItem(
  item: RawItem,
  failure: ItemFailure,
  parserName: string,
  p: Pipeline,
  result: ItemResult,
  /** The error itself, when it was thrown in this thread (logged whole when unexpected). */
  err?: unknown,
): Promise<void> {
  const { line } = failure;
  if (failure.retryable) {
    result.status = 'failed';
    result.error = line;
    p.log.warn({ source: item.origin.source, ref: item.origin.ref }, line);
    return;
  }
  if (!failure.expected)
    p.log.error(
      err === undefined ? { ref: item.origin.ref } : { err, ref: item.origin.ref },
      `unexpected error while parsing: ${line}`,
    );
  else p.log.warn({ source: item.origin.source }, line);
  try {
    await p.deadLetter.put(itemEntry(item.origin, line, parserName, originalData(item), failure.position));
    if (result.status !== 'failed') result.status = 'dead-lettered';
    result.error = line;
  } catch (dlqErr) {
    result.status = 'failed';
    result.error = `${line}; dead-letter store failed: ${describeError(dlqErr)}`;
    p.log.error({ ref: item.origin.ref }, result.error);
  }
}

/** A dead letter for an item, or a part of one, that could not be read. */
function itemEntry(
  origin: Origin,
  error: string,
  parser: string,
  data?: string,
  position?: string,
): DeadLetterEntry {
  return {
    kind: 'item',
    source: origin.source,
    origin,
    error,
    retryable: false,
    attempts: 1,
    parser,
    data,
    position,
  };
}

/**
 * Rules never fail delivery: an error while seeing an event is not thrown into parsing (where it
 * would fail the item) but by the next `inspect`, after it has settled the other events, so it is
 * logged as a failed detection, as an error of a whole-chunk `inspect` is.
 */
function reportingLate(seen: SeenEvents): SeenEvents {
  let failure: { error: unknown } | undefined;
  return {
    see(ev) {
      try {
        seen.see(ev);
      } catch (error) {
        failure ??= { error };
      }
    },
    async inspect(deadline) {
      const failed = failure;
      failure = undefined;
      await seen.inspect(deadline);
      if (failed) throw failed.error;
    },
  };
}

/** The item's original content for the dead-letter store (streams are too big: their origin says where). */
function originalData(item: RawItem): string | undefined {
  const b = item.body;
  if (b.kind === 'bytes') return b.bytes.toString('base64');
  if (b.kind === 'base64') return b.text;
  if (b.kind === 'object')
    return Buffer.from(
      b.text ?? (typeof b.value === 'string' ? b.value : (JSON.stringify(b.value) ?? '')),
    ).toString('base64');
  return undefined;
}

/** Delivers to every sink; returns the indexes of events that some sink could not take, with why. */
async function deliver(
  events: LogEvent[],
  sinks: readonly Sink[],
  p: Pipeline,
  deadline: Deadline,
  ctx: WriteContext,
  seen?: SeenEvents,
): Promise<Map<number, string>> {
  const failed = new Map<number, string>();
  // Rules run beside delivery, not before it: a slow alert output must not hold back the logs.
  // They never fail delivery either; the detector dead-letters alerts it cannot send.
  const inspecting = seen ? seen.inspect(deadline) : p.detector?.inspect(events, deadline);
  const detection = inspecting?.catch((e: unknown) => {
    p.log.error({}, `detection failed: ${describeError(e)}`);
  });
  const perSink = await Promise.all(sinks.map((s) => deliverToSink(s, events, p, deadline, ctx)));
  await detection;
  recordRound(
    events,
    sinks.map((s) => s.name),
    perSink,
    p.memory,
  );
  for (const f of perSink) for (const [i, why] of f) if (!failed.has(i)) failed.set(i, why);
  return failed;
}

async function deliverToSink(
  sink: Sink,
  events: LogEvent[],
  p: Pipeline,
  deadline: Deadline,
  ctx: WriteContext,
): Promise<Map<number, string>> {
  let pending = untaken(events, sink.name, p.memory);
  let lastErrors = new Map<number, string>();
  for (let attempt = 1; pending.length > 0; attempt++) {
    const subset = pending.map((i) => events[i]!);
    let failures: { index: number; retryable: boolean; error: Error }[];
    try {
      failures = await sink.write(subset, ctx);
    } catch (e) {
      // A sink that throws has failed the whole write; whether it can be retried is its call.
      const retryable = isLogferryError(e) ? e.retryable : true;
      failures = subset.map((_, index) => ({ index, retryable, error: toError(e) }));
    }
    const retry: number[] = [];
    lastErrors = new Map();
    for (const f of failures) {
      const idx = pending[f.index]!;
      const why = `${sink.name}: ${describeError(f.error)}`;
      if (f.retryable) {
        retry.push(idx);
        lastErrors.set(idx, why);
        continue;
      }
      try {
        await p.deadLetter.put({
          kind: 'event',
          source: events[idx]!.origin.source,
          sink: sink.name,
          origin: events[idx]!.origin,
          error: why,
          retryable: false,
          attempts: attempt,
          event: events[idx]!,
        });
        p.metrics.inc('logferry_dead_letters_total', { sink: sink.name }, 1, 'events dead-lettered by sinks');
      } catch (dlqErr) {
        retry.push(idx);
        lastErrors.set(idx, `${why}; dead-letter store failed: ${describeError(dlqErr)}`);
      }
    }
    p.metrics.inc(
      'logferry_sink_events_total',
      { sink: sink.name },
      subset.length - failures.length,
      'events delivered',
    );
    pending = retry;
    if (pending.length === 0) break;
    p.metrics.inc('logferry_sink_retries_total', { sink: sink.name }, pending.length, 'events retried');
    const delay = backoffDelay(attempt, p.delivery.backoff);
    if (attempt >= p.delivery.maxAttempts || deadline.remainingMs() < delay) break;
    await sleep(delay);
  }
  return lastErrors;
}

/**
 * Tells the sinks of `source` that `writer` committed everything it delivered (`Sink.committed`).
 * A sink that cannot record it keeps guarding what the writer wrote, which is only slower.
 */
export async function writerCommitted(p: Pipeline, source: string, writer: string): Promise<void> {
  await Promise.all(
    p.route(source).sinks.map((s) =>
      s.committed?.(writer).catch((e: unknown) => {
        p.log.warn(
          { sink: s.name },
          `${s.name}: cannot record that ${writer} committed: ${describeError(e)}`,
        );
      }),
    ),
  );
}
