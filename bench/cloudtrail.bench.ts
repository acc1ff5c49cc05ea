/**
 * A generated CloudTrail file (~1 GiB uncompressed, gzip) through the streaming parser and the
 * pipeline to NDJSON (a null sink), against gunzip + JSON.parse of the same records. Each side
 * runs in its own process so their memory is measured apart. BENCH_SIZE_MB sets the size
 * (MiB of JSON; default 1024). V8 strings stop at ~512 MiB, so the baseline, which must hold the
 * document as one string, reads a file of the same records capped at 480 MiB.
 */
import { cloudTrailBenchFile, MiB, sizeOf } from './aws-files.js';
import { alternate } from './aws-run.js';
import { docBytesPerInputByte, progress, result } from './lib.js';
import { pythonLoop, vsPython } from './python-baseline.js';

const sizeMib = Number(process.env.BENCH_SIZE_MB ?? 1024);
const baseMib = Math.min(sizeMib, 480);

progress(`cloudtrail: ${sizeMib} MiB file (baseline ${baseMib} MiB)`);
const file = await cloudTrailBenchFile(sizeMib);
const baseFile = baseMib === sizeMib ? file : await cloudTrailBenchFile(baseMib);
progress(`  ${file.records} records, ${(sizeOf(file.path) / MiB).toFixed(0)} MiB gzip`);

// As in a 128 MB Lambda, where the runtime keeps the V8 heap under the function's memory.
const { ours, base } = await alternate(
  { mode: 'cloudtrail-ours', file: file.path, nodeArgs: ['--max-old-space-size=96'] },
  { mode: 'cloudtrail-baseline', file: baseFile.path },
);
progress(`  ours: ${ours.events} events in ${ours.seconds.toFixed(1)} s, peak RSS ${ours.peak_rss_mb} MB`);
if (ours.events !== file.records) throw new Error(`parsed ${ours.events} of ${file.records} records`);
progress(
  `  baseline: ${base.events} records in ${base.seconds.toFixed(1)} s, peak RSS ${base.peak_rss_mb} MB`,
);
if (base.events !== baseFile.records) throw new Error('baseline record count differs');

const py = pythonLoop('cloudtrail', baseFile.path, 1);
const line = result('cloudtrail', ours.events, ours.seconds, base.events, base.seconds, ours.peak_rss_mb, {
  size_mib: sizeMib,
  // The generated file stops at the first line/record past size_mib: within one of it.
  doc_bytes_per_input_byte: docBytesPerInputByte(ours.output_bytes, sizeMib * MiB),
  gzip_mib: Math.round(sizeOf(file.path) / MiB),
  baseline_size_mib: baseMib,
  baseline_peak_rss_mb: base.peak_rss_mb,
  target_ratio: 0.9,
  target_peak_rss_mb: 128,
});
console.log(JSON.stringify({ ...line, ...vsPython(line.events_per_s, py) }));
