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
