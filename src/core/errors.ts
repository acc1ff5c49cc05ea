import type { Origin } from './event.js';
import { redactString } from './redact.js';

/** Where in the flow an error happened; tells operators which component to look at. */
export type Stage =
  | 'config'
  | 'source'
  | 'parse'
  | 'transform'
  | 'detect'
  | 'deliver'
  | 'state'
  | 'alert'
  | 'control';

export interface ErrorDetails {
  stage?: Stage;
  origin?: Origin;
  /** Whether trying the same thing again can succeed (throttling, outages), as opposed to bad input. */
  retryable?: boolean;
  cause?: unknown;
}

/** Base of every error logferry raises on purpose. Messages are one line and never carry secrets. */
export class LogferryError extends Error {
  readonly stage: Stage;
  readonly origin: Origin | undefined;
  readonly retryable: boolean;

  constructor(message: string, details: ErrorDetails & { stage: Stage }) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.stage = details.stage;
    this.origin = details.origin;
    this.retryable = details.retryable ?? false;
  }

  /**
   * `stage origin: message`, the one line the CLI and dead-letter entries show. `at` names the
   * input when the error was created without one (a parser's error about the item it was given).
   */
  describe(at?: Origin): string {
    const origin = this.origin ?? at;
    const where = origin ? ` ${origin.ref}` : '';
    return `${this.stage}${where}: ${this.message}`;
  }
}

export class ConfigError extends LogferryError {
  constructor(message: string, details: Omit<ErrorDetails, 'stage'> = {}) {
    super(message, { ...details, stage: 'config', retryable: false });
  }
}

export class ParseError extends LogferryError {
  /** Byte offset or line in the input where the damage was found, when known. */
  readonly position: string | undefined;
  constructor(message: string, details: Omit<ErrorDetails, 'stage'> & { position?: string } = {}) {
    super(message, { ...details, stage: 'parse', retryable: details.retryable ?? false });
    this.position = details.position;
  }
}

/** An input broke a size limit (oversize record, decompression bomb). Never retryable. */
export class LimitError extends ParseError {}

export class DeliveryError extends LogferryError {
  readonly sink: string;
  constructor(message: string, details: Omit<ErrorDetails, 'stage'> & { sink: string }) {
    super(message, { ...details, stage: 'deliver' });
    this.sink = details.sink;
  }
}

export class SourceError extends LogferryError {
  constructor(message: string, details: Omit<ErrorDetails, 'stage'> = {}) {
    super(message, { ...details, stage: 'source' });
  }
}

export class StateError extends LogferryError {
  constructor(message: string, details: Omit<ErrorDetails, 'stage'> = {}) {
    super(message, { ...details, stage: 'state' });
  }
}

/** Why a run-time command (`thread auth interval 30s`) was refused; transports map it to their own codes. */
export type ControlRefusal = 'invalid' | 'unknown' | 'conflict' | 'unsupported';

/**
 * A run-time command the daemon refused: bad syntax, a name no unit has, or a unit in the wrong
 * state for it. The message is the one line the operator sees; it never quotes more of the
 * command than what was checked to be a name.
 */
export class ControlError extends LogferryError {
  readonly refusal: ControlRefusal;
  constructor(message: string, details: Omit<ErrorDetails, 'stage'> & { refusal: ControlRefusal }) {
    super(message, { ...details, stage: 'control', retryable: false });
    this.refusal = details.refusal;
  }
}

/**
 * A value from an event (a dataset, say) cannot become a file, key, index or stream name. Never
 * retryable: the same event is refused every time, so it goes to the dead-letter store.
 */
export class UnsafeNameError extends LogferryError {
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, { ...details, stage: details.stage ?? 'deliver', retryable: false });
  }
}

export function isLogferryError(e: unknown): e is LogferryError {
  return e instanceof LogferryError;
}

/**
 * One line for any thrown value, for logs, status and dead-letter entries. Credentials a message
 * quotes (a URL with a password, a signed URL from an SDK error) are cut out here, once for all.
 * `at` is the input being handled, named when the error does not name its own: the error itself
 * is never changed, since the same instance may be thrown again for another input.
 */
export function describeError(e: unknown, at?: Origin): string {
  const text =
    e instanceof LogferryError ? e.describe(at) : e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  // Only the start is printed; cutting well past the 500 kept characters bounds the work on a
  // huge message without leaving half a credential in what is shown.
  return oneLine(redactString(text.slice(0, 4000)));
}

export function oneLine(text: string, max = 500): string {
  const flat = text.replace(/\s*[\r\n]+\s*/g, ' ');
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/**
 * Why JSON.parse failed, without the input that V8 quotes in its message (it may be huge, span
 * lines or hold secrets).
 */
export function jsonErrorReason(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  const cut = m.indexOf(', "');
  return oneLine(cut > 0 ? m.slice(0, cut) : m, 120);
}

export function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
