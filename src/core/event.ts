/**
 * Where an item came from. `ref` is the human-readable coordinate that error messages and
 * dead-letter entries show (stream/shard/sequence, bucket/key, file path, Duo log/offset);
 * `attrs` keeps the machine-readable parts.
 */
export interface Origin {
  source: string;
  type: string;
  ref: string;
  attrs?: Record<string, string | number | undefined>;
}

/** An ECS-style JSON document. Nested objects, dotted names are never used as keys. */
export type EcsDocument = Record<string, unknown> & { '@timestamp': string };

/** What a parser produces; the core turns it into a LogEvent with a deterministic id. */
export interface EventDraft {
  dataset: string;
  /** Milliseconds since the epoch. */
  timestamp: number;
  doc: Record<string, unknown>;
  /**
   * The parts that identify this event for all time (e.g. log group + stream + CloudWatch event
   * id, or bucket + key + etag + line). Hashed into the event id, so replays make no duplicates.
   */
  idParts: readonly (string | number)[];
  /** An id the event already carries from an earlier logferry run; used instead of hashing. */
  id?: string;
  /**
   * Writes the finalized doc as JSON, exactly the text JSON.stringify gives, but faster: for
   * parsers whose docs have a fixed shape, with the parts shared by a whole record serialized
   * once. Used only when no transform ran, since a transform may change the doc's shape.
   */
  toJson?: (doc: EcsDocument) => string;
  /**
   * The source event as it arrived, before any change (e.g. one Duo API event's JSON), for sinks
   * with `format: original`. Only parsers whose item is one whole event set it.
   */
  original?: string;
}

export interface LogEvent {
  id: string;
  dataset: string;
  timestamp: number;
  doc: EcsDocument;
  origin: Origin;
  /** See EventDraft.original. Transforms do not touch it (a redaction does not reach it). */
  original?: string;
}

const SERIALIZED = Symbol('logferry.serialized');

interface SerializedCache {
  doc: object;
  json?: string;
  toJson?: (doc: EcsDocument) => string;
}

function setCache(ev: LogEvent, cache: SerializedCache): void {
  if (ev instanceof FinalEvent) FinalEvent.setCache(ev, cache);
  else
    Object.defineProperty(ev, SERIALIZED, {
      value: cache,
      writable: true,
      configurable: true,
      enumerable: false,
    });
}

function getCache(ev: LogEvent): SerializedCache | undefined {
  return ev instanceof FinalEvent
    ? FinalEvent.getCache(ev)
    : (ev as { [SERIALIZED]?: SerializedCache })[SERIALIZED];
}

/**
 * What finalizeEvent makes: a LogEvent whose serialized-form cache is a private field, which
 * costs nothing to set (defining a hidden property on a plain object did, per event) and which
 * JSON, spreads, structuredClone and equality checks never see.
 */
export class FinalEvent implements LogEvent {
  #cache: SerializedCache | undefined = undefined;
  declare original?: string;
  constructor(
    public id: string,
    public dataset: string,
    public timestamp: number,
    public doc: EcsDocument,
    public origin: Origin,
  ) {}
  static getCache(ev: FinalEvent): SerializedCache | undefined {
    return ev.#cache;
  }
  static setCache(ev: FinalEvent, cache: SerializedCache): void {
    ev.#cache = cache;
  }
}

/** Hands the event its parser's fast serializer (see EventDraft.toJson) for its current doc. */
export function attachSerializer(ev: LogEvent, toJson: (doc: EcsDocument) => string): void {
  setCache(ev, { doc: ev.doc, toJson });
}

/**
 * The event's document as JSON, built once and shared by every sink that writes JSON (NDJSON
 * files, bulk bodies, stream records): serializing per sink was the largest cost of delivery.
 * The cache sits on the event under a non-enumerable symbol, so JSON, spreads and equality
 * checks never see it, and it remembers which doc it was built from: an event copied with a new
 * doc (`{...ev, doc}`) gets its own. Docs are not changed once sinks have them (transforms run
 * before delivery), which is what makes caching them sound.
 */
export function serializedDoc(ev: LogEvent): string {
  const cached = getCache(ev);
  if (cached !== undefined && cached.doc === ev.doc) {
    if (cached.json === undefined)
      cached.json = cached.toJson ? cached.toJson(ev.doc) : JSON.stringify(ev.doc);
    return cached.json;
  }
  const json = JSON.stringify(ev.doc);
  setCache(ev, { doc: ev.doc, json });
  return json;
}
