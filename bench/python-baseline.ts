/**
 * The loop logferry replaces, in the language it was written in: the central-logging Lambda
 * decodes each CloudWatch Logs record (base64 → gzip → json.loads) and json.dumps every log event.
 * Decode benches run it on the same input in the same run and report `vs_python` beside `ratio`,
 * so "faster than what it replaces" is measured, not assumed. Where no python3 is installed the
 * line says so instead of a number.
 */
import { spawnSync } from 'node:child_process';

/** Each mode reads FILE, does the old tool's work per event and prints `events seconds cpu-seconds`. */
const script = `
import base64, gzip, json, sys, time
mode, path = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
c0 = time.process_time()
n = 0
if mode == 'cwlogs-b64lines':
    with open(path, 'rb') as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            msg = json.loads(gzip.decompress(base64.b64decode(line)))
            for ev in msg['logEvents']:
                doc = {'@timestamp': ev['timestamp'], 'message': ev['message'], 'id': ev['id'],
                       'log_group': msg['logGroup'], 'log_stream': msg['logStream'], 'owner': msg['owner']}
                json.dumps(doc)
                n += 1
elif mode == 'cloudtrail':
    with gzip.open(path, 'rb') as f:
        for rec in json.load(f)['Records']:
            json.dumps(rec)
            n += 1
elif mode == 'alb':
    with gzip.open(path, 'rt') as f:
        for line in f:
            if line.strip():
                json.dumps({'fields': line.split(' ')})
                n += 1
else:
    sys.exit('unknown mode ' + mode)
print(n, time.perf_counter() - t0, time.process_time() - c0)
`;

let interpreter: string | undefined;
/**
 * The interpreter itself, not the `python3` on PATH: that may be a version manager's shim (pyenv's
 * is a shell script, ~0.3 s a start here), which would be timed as Python's start-up.
 */
function python(): string {
  if (interpreter === undefined) {
    const r = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
    interpreter = (r.status === 0 && r.stdout.trim()) || 'python3';
  }
  return interpreter;
}

export interface PythonResult {
  events: number;
  seconds: number;
  /** The whole process, start-up and imports included (spawn to exit): what `logferry decode` is timed as. */
  processSeconds: number;
  /** CPU seconds (user + system) the loop used: steadier than wall time on a shared machine. */
  cpuSeconds: number;
  events_per_s: number;
}

/** Runs the Python loop (best of `runs`); undefined, with the reason on stderr, when it cannot. */
export function pythonLoop(
  mode: 'cwlogs-b64lines' | 'cloudtrail' | 'alb',
  file: string,
  runs = 2,
): PythonResult | undefined {
  let best: PythonResult | undefined;
  for (let i = 0; i < runs; i++) {
    const exe = python();
    const started = process.hrtime.bigint();
    const r = spawnSync(exe, ['-c', script, mode, file], { encoding: 'utf8', maxBuffer: 1 << 20 });
    const processSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (r.error || r.status !== 0) {
      process.stderr.write(
        `  python baseline skipped: ${r.error?.message ?? r.stderr.trim().split('\n').pop()}\n`,
      );
      return undefined;
    }
    const [events, seconds, cpuSeconds] = r.stdout.trim().split(/\s+/).map(Number);
    if (!events || !seconds || !cpuSeconds) return undefined;
    if (!best || seconds < best.seconds)
      best = { events, seconds, processSeconds, cpuSeconds, events_per_s: Math.round(events / seconds) };
  }
  return best;
}

/** The `vs_python` fields of a bench line: our events/s over the Python loop's. */
export function vsPython(oursEventsPerS: number, py: PythonResult | undefined): Record<string, unknown> {
  if (!py) return { vs_python: null, python_note: 'python3 not available' };
  return {
    python_events_per_s: py.events_per_s,
    vs_python: Math.round((oursEventsPerS / py.events_per_s) * 1000) / 1000,
  };
}

/**
 * `cpu_vs_python`: the same comparison in CPU seconds for the same events (ours over Python's
 * events per CPU second), which other load on the machine disturbs far less than wall time.
 */
export function cpuVsPython(
  events: number,
  oursCpuSeconds: number,
  py: PythonResult | undefined,
): Record<string, unknown> {
  if (!py || !(oursCpuSeconds > 0)) return {};
  return { cpu_vs_python: Math.round((events / oursCpuSeconds / (py.events / py.cpuSeconds)) * 1000) / 1000 };
}
