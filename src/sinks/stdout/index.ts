import type { Writable } from 'node:stream';
import type { Sink, SinkFailure } from '../../core/component.js';
import { type LogEvent, serializedDoc } from '../../core/event.js';
import type { StdoutSinkConfig } from './schema.js';

export function toNdjson(events: readonly LogEvent[], format: 'doc' | 'envelope'): string {
  let out = '';
  for (const e of events) {
    // The envelope is spelled out so its doc reuses the shared serialized form (same bytes
    // as stringifying the whole envelope: same keys, same order).
    out +=
      format === 'doc'
        ? `${serializedDoc(e)}\n`
        : `{"id":${JSON.stringify(e.id)},"dataset":${JSON.stringify(e.dataset)},"origin":${JSON.stringify(e.origin)},"doc":${serializedDoc(e)}}\n`;
  }
  return out;
}

/** Writes to a stream and resolves once it took the data: a slow reader slows the writer. */
export function writeAndWait(out: Writable, data: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => out.write(data, (err) => (err ? reject(err) : resolve())));
}

/** NDJSON on standard output (or any stream), honouring backpressure so a slow pipe slows the source. */
export class StdoutSink implements Sink {
  constructor(
    readonly name: string,
    private readonly format: 'doc' | 'envelope',
    private readonly out: Writable = process.stdout,
  ) {}

  async write(events: readonly LogEvent[]): Promise<SinkFailure[]> {
    if (events.length === 0) return [];
    await writeAndWait(this.out, toNdjson(events, this.format));
    return [];
  }

  async close(): Promise<void> {}
}

export function create(cfg: StdoutSinkConfig): Sink {
  return new StdoutSink(cfg.name, cfg.format);
}
