/**
 * `logferry decode FILE > out.ndjson` end to end, as a user runs it on a file of base64
 * CloudWatch Logs records (one a line), against the raw Node loop and the central-logging
 * Lambda's Python loop on the same file. The CLI runs as its own process, start-up included.
 * BENCH_RECORDS sets the records (default 1000 of 200 events: 200,000 events, half VPC flow lines,
 * half JSON application logs, as in the issue that asked for this line). The CLI runs as users
 * run it (`--workers auto`) and, for comparison, in one thread (`--workers 0`, the one_thread_* fields).
 * `startup_s` is a one-record run; `vs_python_process` compares with the Python process timed whole
 * (interpreter start and imports included), as the CLI is, where `vs_python` takes the Python loop's
 * own timing. `at_1m` repeats the auto run on 1,000,000 events (BENCH_LARGE_RECORDS, default 5000),
 * the size of the issue's own measurements, where start-up weighs less.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, createReadStream, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { gzipJson, rng, subscriptionMessage } from '../src/demo/cwlogs.js';
import { measure, progress, result } from './lib.js';
import { cpuVsPython, type PythonResult, pythonLoop, vsPython } from './python-baseline.js';

const here = dirname(fileURLToPath(import.meta.url));
const records = Number(process.env.BENCH_RECORDS ?? 1000);
const perRecord = 200;
/** The second, larger run: the 1,000,000 events of the issue's own measurements. */
const largeRecords = Number(process.env.BENCH_LARGE_RECORDS ?? 5000);
const r = rng(3);

function recordLines(count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const msg = subscriptionMessage({
      kind: i % 2 ? 'vpc' : 'app',
      count: perRecord,
      start: 1_764_000_000_000 + i * 10_000,
      r,
    });
    out.push(gzipJson(msg).toString('base64'));
  }
  return out;
}
const lines = recordLines(records);
const total = records * perRecord;
const input = join(tmpdir(), `logferry-bench-decode-${process.pid}.b64`);
const output = join(tmpdir(), `logferry-bench-decode-${process.pid}.ndjson`);
writeFileSync(input, `${lines.join('\n')}\n`);
progress(`decode: ${records} records, ${total} events`);

function rawNode(): number {
  let n = 0;
  for (const l of lines) {
    const msg = JSON.parse(gunzipSync(Buffer.from(l, 'base64')).toString('utf8')) as {
      logEvents: unknown[];
    };
    for (const ev of msg.logEvents) if (JSON.stringify(ev).length > 0) n++;
  }
  return n;
}

async function countLines(path: string): Promise<number> {
  let n = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
  }
  return n;
}

function cli(extra: string[] = [], file = input): { seconds: number; cpuSeconds: number; peakRssMb: number } {
  const out = openSync(output, 'w');
  try {
    // The child reports its own peak RSS from an exit hook (report-rss.mjs).
    const started = process.hrtime.bigint();
    const args = [
      '--import',
      join(here, 'report-rss.mjs'),
      join(here, '..', 'bin', 'logferry.mjs'),
      'decode',
      ...extra,
      file,
    ];
    const res = spawnSync(process.execPath, args, {
      stdio: ['ignore', out, 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
      maxBuffer: 1 << 24,
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (res.status !== 0)
      throw new Error(`decode exited ${res.status}: ${res.stderr.toString().slice(-500)}`);
    const kb = /peak_rss_kb=(\d+)/.exec(res.stderr.toString())?.[1];
    const cpuUs = /cpu_us=(\d+)/.exec(res.stderr.toString())?.[1];
    return { seconds, cpuSeconds: Number(cpuUs ?? 0) / 1e6, peakRssMb: Math.round(Number(kb ?? 0) / 1024) };
  } finally {
    closeSync(out);
  }
}

/** Best wall and CPU time of two runs, and the higher peak RSS. */
function bestOfTwo(extra: string[] = [], file = input) {
  const runs = [cli(extra, file), cli(extra, file)];
  return {
    seconds: Math.min(...runs.map((r) => r.seconds)),
    cpuSeconds: Math.min(...runs.map((r) => r.cpuSeconds)),
    peakRssMb: Math.max(...runs.map((r) => r.peakRssMb)),
  };
}

rawNode();
const base = await measure(async () => rawNode());
// As a user runs it (workers: auto), and in one thread (--workers 0) beside it, in the same minute.
const oneThread = bestOfTwo(['--workers', '0']);
const { seconds: best, cpuSeconds: bestCpu, peakRssMb: peak } = bestOfTwo();
const written = await countLines(output);
rmSync(output, { force: true });
if (written !== total) throw new Error(`decode wrote ${written} of ${total} events`);
const py = pythonLoop('cwlogs-b64lines', input);
rmSync(input, { force: true });

// Start-up alone: one record, in one thread (node, the CLI bundle, the parser).
const tiny = join(tmpdir(), `logferry-bench-decode-tiny-${process.pid}.b64`);
writeFileSync(tiny, `${lines[0]}\n`);
const startup = Math.min(...[0, 1, 2].map(() => cli(['--workers', '0'], tiny).seconds));
rmSync(tiny, { force: true });

// The same at 1,000,000 events, where start-up is a smaller share.
const large = join(tmpdir(), `logferry-bench-decode-large-${process.pid}.b64`);
writeFileSync(large, `${recordLines(largeRecords).join('\n')}\n`);
const largeTotal = largeRecords * perRecord;
progress(`decode: ${largeRecords} records, ${largeTotal} events`);
const largeRun = bestOfTwo([], large);
const largeWritten = await countLines(output);
rmSync(output, { force: true });
if (largeWritten !== largeTotal) throw new Error(`decode wrote ${largeWritten} of ${largeTotal} events`);
const largePy = pythonLoop('cwlogs-b64lines', large);
rmSync(large, { force: true });
const largeEps = Math.round(largeTotal / largeRun.seconds);

const line = result('decode_cli', total, best, base.value, base.seconds, peak, {
  records,
  target_vs_python: 1.2,
  cpu_seconds: Math.round(bestCpu * 100) / 100,
  one_thread_events_per_s: Math.round(total / oneThread.seconds),
  one_thread_cpu_seconds: Math.round(oneThread.cpuSeconds * 100) / 100,
  one_thread_peak_rss_mb: oneThread.peakRssMb,
  startup_s: Math.round(startup * 1000) / 1000,
});
/** Ours against the Python process timed whole (start-up and imports included), as the CLI is. */
const vsPythonProcess = (seconds: number, p: PythonResult | undefined) =>
  p ? Math.round((p.processSeconds / seconds) * 1000) / 1000 : null;
console.log(
  JSON.stringify({
    ...line,
    ...vsPython(line.events_per_s, py),
    vs_python_process: vsPythonProcess(best, py),
    ...cpuVsPython(total, bestCpu, py),
    at_1m: {
      events: largeTotal,
      events_per_s: largeEps,
      peak_rss_mb: largeRun.peakRssMb,
      ...vsPython(largeEps, largePy),
      vs_python_process: vsPythonProcess(largeRun.seconds, largePy),
    },
  }),
);
