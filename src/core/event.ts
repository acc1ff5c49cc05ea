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
}

export interface LogEvent {
  id: string;
  dataset: string;
  timestamp: number;
  doc: EcsDocument;
  origin: Origin;
}

const SERIALIZED = Symbol('logferry.serialized');

interface SerializedCache {
  doc: object;
  json: string;
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
  const cached = (ev as { [SERIALIZED]?: SerializedCache })[SERIALIZED];
  if (cached !== undefined && cached.doc === ev.doc) return cached.json;
  const json = JSON.stringify(ev.doc);
  Object.defineProperty(ev, SERIALIZED, {
    value: { doc: ev.doc, json },
    writable: true,
    configurable: true,
    enumerable: false,
  });
  return json;
}
