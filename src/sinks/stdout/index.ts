import { WriteStream } from 'node:fs';
import { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import type { Sink, SinkFailure } from '../../core/component.js';
import { type LogEvent, serializedDoc } from '../../core/event.js';
import { LineBuffer, LineBufferPool } from '../../formats/line_buffer.js';
import type { StdoutSinkConfig } from './schema.js';

/** Adds each event as a line of NDJSON: its document, or the document inside its envelope. */
export function addNdjson(out: LineBuffer, events: readonly LogEvent[], format: 'doc' | 'envelope'): void {
  for (const e of events) {
    if (format === 'doc') {
      out.add(serializedDoc(e));
      continue;
    }
    // The envelope is spelled out so its doc reuses the shared serialized form (same bytes as
    // stringifying the whole envelope: same keys, same order).
    out.add(
      `{"id":${JSON.stringify(e.id)},"dataset":${JSON.stringify(e.dataset)},"origin":${JSON.stringify(e.origin)},"doc":`,
      false,
    );
    out.add(serializedDoc(e), false);
    out.add('}');
  }
}

/** Writes to a stream and resolves once it took the data: a slow reader slows the writer. */
export function writeAndWait(out: Writable, data: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => out.write(data, (err) => (err ? reject(err) : resolve())));
}

/**
 * Whether `out` is done with the bytes of a write once it calls back, so they may be overwritten:
 * true of the process's own streams, files and sockets (the data has gone to the kernel), not of a
 * stream that keeps what it is given (a PassThrough, a test's collector).
 */
export function releasesWrittenBytes(out: Writable): boolean {
  return (
    out === process.stdout || out === process.stderr || out instanceof WriteStream || out instanceof Socket
  );
}

/** NDJSON on standard output (or any stream), honouring backpressure so a slow pipe slows the source. */
export class StdoutSink implements Sink {
  readonly writesText = true;
  /** Where the stream lets go of what it wrote, one buffer serves write after write. */
  private readonly lines: LineBufferPool | undefined;
  constructor(
    readonly name: string,
    private readonly format: 'doc' | 'envelope',
    private readonly out: Writable = process.stdout,
  ) {
    if (releasesWrittenBytes(out)) this.lines = new LineBufferPool();
  }

  async write(events: readonly LogEvent[]): Promise<SinkFailure[]> {
    if (events.length === 0) return [];
    const b = this.lines?.take() ?? new LineBuffer();
    addNdjson(b, events, this.format);
    await writeAndWait(this.out, b.bytes());
    // Only once the stream has called back: a write that failed leaves the buffer with the stream.
    this.lines?.give(b);
    return [];
  }

  async close(): Promise<void> {}
}

export function create(cfg: StdoutSinkConfig): Sink {
  return new StdoutSink(cfg.name, cfg.format);
}
