import type { Sink, SinkFailure } from '../src/core/component.js';
import type { LogEvent } from '../src/core/event.js';
import { LineBuffer } from '../src/formats/line_buffer.js';
import { tuneV8 } from '../src/platform/v8-tuning.js';
import { addNdjson } from '../src/sinks/stdout/index.js';

// As the CLI and the Lambda bootstrap do: benches measure what users run.
tuneV8();

/** Shared pieces of every benchmark: timing, peak memory, and the one-line JSON result. */

export interface BenchResult {
  name: string;
  events_per_s: number;
  baseline_events_per_s: number;
  ratio: number;
  peak_rss_mb: number;
  [extra: string]: unknown;
}

/**
 * Samples RSS every 20 ms while `fn` runs; returns the result, seconds taken, CPU seconds this
 * process used (user + system: on a shared machine, less disturbed by other processes than
 * wall time) and peak RSS in MB.
 */
export async function measure<T>(
  fn: () => Promise<T>,
): Promise<{ value: T; seconds: number; cpuSeconds: number; peakRssMb: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  try {
    const value = await fn();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const used = process.cpuUsage(cpu);
    peak = Math.max(peak, process.memoryUsage.rss());
    return {
      value,
      seconds,
      cpuSeconds: (used.user + used.system) / 1e6,
      peakRssMb: Math.round(peak / 1024 / 1024),
    };
  } finally {
    clearInterval(timer);
  }
}

export function result(
  name: string,
  events: number,
  seconds: number,
  baselineEvents: number,
  baselineSeconds: number,
  peakRssMb: number,
  extra: Record<string, unknown> = {},
): BenchResult {
  const eps = Math.round(events / seconds);
  const base = Math.round(baselineEvents / baselineSeconds);
  return {
    name,
    events_per_s: eps,
    baseline_events_per_s: base,
    ratio: Math.round((eps / base) * 1000) / 1000,
    peak_rss_mb: peakRssMb,
    ...extra,
  };
}

export function progress(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

/**
 * Serializes and encodes like the stdout sink (UTF-8 into a buffer kept between writes), and
 * throws the bytes away, so only the pipeline's work is timed. The encoding counts: text built by
 * concatenation is flattened there (counting only characters made template writers look ~35 %
 * better than they are).
 */
export class NullNdjsonSink implements Sink {
  readonly name = 'null';
  readonly writesText = true;
  bytes = 0;
  private readonly lines = new LineBuffer();
  async write(events: readonly LogEvent[]): Promise<SinkFailure[]> {
    this.lines.size = 0;
    addNdjson(this.lines, events, 'doc');
    this.bytes += this.lines.size;
    return [];
  }
  async close() {}
}

/**
 * Item 3 of issue #16 ("leaner documents"): NDJSON bytes written per byte of (uncompressed) input,
 * two decimals. Above 1 the documents are bigger than the logs they came from.
 */
export function docBytesPerInputByte(outputBytes: number, inputBytes: number): number {
  if (!(inputBytes > 0)) throw new Error('no input bytes to compare with');
  return Math.round((outputBytes / inputBytes) * 100) / 100;
}
