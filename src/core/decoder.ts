import type { RawItem } from './batch.js';
import type { LogEvent } from './event.js';

/**
 * Why an item could not be read to its end, already described (it may come from another thread,
 * where the error object stayed).
 */
export interface ItemFailure {
  /** The one line for logs and the dead-letter entry (`parse <origin>: <message>`). */
  line: string;
  /** Reading it again may work (a file that vanished, a worker that died): do not dead-letter it. */
  retryable: boolean;
  /** A LogferryError (bad input, said so on purpose) rather than a bug. */
  expected: boolean;
  /** Where the damage is in the input, when the parser knew it. */
  position?: string;
}

/** One bad part of an item (a line, a wrapped record) set aside while the rest goes on. */
export interface DecodedReject {
  /** Appended to the item's origin ref. */
  ref: string;
  /** The part's bytes, base64, when there are any. */
  data?: string;
  /** The described error (its origin names the part). */
  line: string;
}

/** What decoding an item gave so far, in order: events first, then any failure that ended it. */
export interface DecodedChunk {
  /** Finalized and transformed: ready for rules and sinks. */
  events: LogEvent[];
  /**
   * Instead of `events`, from a decoder asked for output text (`logferry decode`, which only
   * writes events out): them as NDJSON lines, ready to write.
   */
  ndjson?: {
    bytes: Buffer;
    count: number;
    /** Once written: hands the bytes back to be encoded into again (they must not be read after). */
    release?: () => void;
  };
  rejects: DecodedReject[];
  failure?: ItemFailure;
}

/** An item being decoded: its chunks, in order; `cancel` when they will not be read to the end. */
export interface ItemDecoding extends AsyncIterable<DecodedChunk> {
  cancel(): void;
  /**
   * Not read this time, but the same item is about to be asked for again (the rest of a delivery
   * cut at the event cap, which the runner delivers next): go on decoding it for the next
   * `decode` of the same item object to pick up, so that decoding keeps running ahead of delivery
   * across the cut. A decoder that cannot keep it cancels it.
   */
  keep?(): void;
}

/**
 * Does runBatch's parse step (parse, finalize, transform) somewhere else, e.g. in worker threads,
 * while the calling thread keeps the order, the rules, the sinks and the commits. runBatch starts
 * every item of a batch at once and reads the results in item order, so decoding runs ahead of
 * delivery; the outcome per item is the one parsing in this thread would give.
 */
export interface Decoder {
  /** Starts decoding, or undefined when this item is better parsed in this thread. */
  decode(item: RawItem, source: string): ItemDecoding | undefined;
  close(): Promise<void>;
}
