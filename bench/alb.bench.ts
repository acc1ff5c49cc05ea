/**
 * Generated ALB access logs (gzip) through the ALB parser and the pipeline to NDJSON (a null
 * sink), against gunzip + split into lines of the same file. BENCH_SIZE_MB sets the
 * uncompressed size in MiB (default 256), BENCH_CHUNK_EVENTS the events per sink write (default
 * 500, as in config/examples/aws-s3.yaml). Each side runs in its own process.
 */
import { albBenchFile, MiB, sizeOf } from './aws-files.js';
import { alternate } from './aws-run.js';
import { docBytesPerInputByte, progress, result } from './lib.js';
import { pythonLoop, vsPython } from './python-baseline.js';

const sizeMib = Number(process.env.BENCH_SIZE_MB ?? 256);
progress(`alb: ${sizeMib} MiB of lines`);
const file = await albBenchFile(sizeMib);
progress(`  ${file.lines} lines, ${(sizeOf(file.path) / MiB).toFixed(0)} MiB gzip`);
const { ours, base } = await alternate(
  { mode: 'alb-ours', file: file.path },
  { mode: 'alb-baseline', file: file.path },
);
progress(`  ours: ${ours.events} events in ${ours.seconds.toFixed(1)} s, peak RSS ${ours.peak_rss_mb} MB`);
if (ours.events !== file.lines) throw new Error(`parsed ${ours.events} of ${file.lines} lines`);
progress(`  baseline: ${base.events} lines in ${base.seconds.toFixed(1)} s, peak RSS ${base.peak_rss_mb} MB`);
const py = pythonLoop('alb', file.path, 1);
const line = result('alb', ours.events, ours.seconds, base.events, base.seconds, ours.peak_rss_mb, {
  size_mib: sizeMib,
  // The generated file stops at the first line/record past size_mib: within one of it.
  doc_bytes_per_input_byte: docBytesPerInputByte(ours.output_bytes, sizeMib * MiB),
  baseline_peak_rss_mb: base.peak_rss_mb,
  target_ratio: 0.6,
});
console.log(JSON.stringify({ ...line, ...vsPython(line.events_per_s, py) }));
