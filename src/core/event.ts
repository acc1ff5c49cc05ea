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
  if (ev instanceof SerializedEvent) {
    const json = SerializedEvent.json(ev);
    if (json !== undefined) return json;
  }
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

const TIMESTAMP_FIRST = '{"@timestamp":"';
const TIMESTAMP_LAST = ',"@timestamp":"';

/** `{"@timestamp":"…",`: the value, if it holds no escape (then the caller parses). */
function timestampFirst(json: string): string | undefined {
  if (!json.startsWith(TIMESTAMP_FIRST)) return undefined;
  const end = json.indexOf('"', TIMESTAMP_FIRST.length);
  const time = json.slice(TIMESTAMP_FIRST.length, end);
  return end > 0 && !time.includes('\\') ? time : undefined;
}

/**
 * `…,"@timestamp":"…"}`: the value of the document's last member. The pattern cannot lie inside a
 * string (its quote after the comma would end it), and the text's one closing brace after the
 * value's quote makes it a member of the document itself, not of an object inside it.
 */
function timestampLast(json: string): string | undefined {
  if (!json.endsWith('"}')) return undefined;
  const at = json.lastIndexOf(TIMESTAMP_LAST);
  if (at < 0) return undefined;
  const from = at + TIMESTAMP_LAST.length;
  const time = json.slice(from, json.length - 2);
  return time.includes('"') || time.includes('\\') ? undefined : time;
}

/**
 * An event decoded in another thread (a decode worker), which hands back its document as the
 * JSON text every NDJSON sink writes anyway: the doc is parsed only if something reads it (rules,
 * a sink that wants objects), so the thread that delivers does not redo the decode work.
 * `toJSON` keeps it looking like a plain LogEvent to JSON (dead-letter entries).
 */
export class SerializedEvent implements LogEvent {
  #json: string | undefined;
  #doc: EcsDocument | undefined = undefined;
  declare original?: string;
  constructor(
    public id: string,
    public dataset: string,
    public timestamp: number,
    json: string,
    public origin: Origin,
  ) {
    this.#json = json;
  }
  get doc(): EcsDocument {
    this.#doc ??= JSON.parse(this.#json!) as EcsDocument;
    return this.#doc;
  }
  set doc(doc: EcsDocument) {
    // A doc put in its place is no longer the JSON the worker wrote.
    this.#doc = doc;
    this.#json = undefined;
  }
  /**
   * The `@timestamp`, read from the JSON without parsing it when it is the first member (most
   * parsers put it first) or the last (Duo documents, whose event comes as Duo sent it). A day-file
   * sink asks this of every event: parsing a 2 KB Duo document back for it was a tenth of a pull.
   */
  get isoTime(): string {
    const json = this.#json;
    if (this.#doc === undefined && json !== undefined) {
      const time = timestampFirst(json) ?? timestampLast(json);
      if (time !== undefined) return time;
    }
    return String(this.doc['@timestamp']);
  }
  static json(ev: SerializedEvent): string | undefined {
    return ev.#json;
  }
  toJSON(): LogEvent {
    const out: LogEvent = {
      id: this.id,
      dataset: this.dataset,
      timestamp: this.timestamp,
      doc: this.doc,
      origin: this.origin,
    };
    if (this.original !== undefined) out.original = this.original;
    return out;
  }
}

/**
 * The event as its JSON text alone (a SerializedEvent), for an event that is only written out
 * from here: its document objects can be collected at once, where a buffered chunk of 2,000
 * events kept them alive through scavenges (~20 % of the CloudWatch Logs path went to GC).
 */
export function asText(ev: LogEvent): LogEvent {
  if (ev instanceof SerializedEvent) return ev;
  const json = serializedDoc(ev);
  // Made flat now (converting to a number flattens a string built by concatenation, and fails
  // at the '{'): a rope kept for the sink holds its pieces alive and is flattened in old space.
  void Number(json);
  const out = new SerializedEvent(ev.id, ev.dataset, ev.timestamp, json, ev.origin);
  if (ev.original !== undefined) out.original = ev.original;
  return out;
}

/** The event's `@timestamp` (ISO, UTC), without parsing a doc that arrived as JSON. */
export function eventIsoTime(ev: LogEvent): string {
  return ev instanceof SerializedEvent ? ev.isoTime : String(ev.doc['@timestamp']);
}
