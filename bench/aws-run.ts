import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
let bundled: Promise<string> | undefined;

/** The worker bundled to one .mjs, so it runs on plain node like a Lambda bundle. */
function workerBundle(): Promise<string> {
  bundled ??= (async () => {
    const dir = join(tmpdir(), 'logferry-bench');
    mkdirSync(dir, { recursive: true });
    const outfile = join(dir, 'aws-worker.mjs');
    await build({
      entryPoints: [join(here, 'aws-worker.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile,
      logLevel: 'warning',
      banner: {
        js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
    });
    return outfile;
  })();
  return bundled;
}

export interface WorkerResult {
  events: number;
  seconds: number;
  peak_rss_mb: number;
  /** NDJSON bytes written (0 for a baseline, which writes none). */
  output_bytes: number;
}

/** Runs one measurement in a fresh process; `nodeArgs` e.g. a heap cap like Lambda's. */
export async function runWorker(mode: string, file: string, nodeArgs: string[] = []): Promise<WorkerResult> {
  const r = spawnSync(process.execPath, [...nodeArgs, await workerBundle(), mode, file], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`${mode} worker exited with ${r.status}`);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as WorkerResult;
}

/**
 * Ours and the baseline, alternately, `BENCH_RUNS` times each (default 3), keeping each side's
 * fastest run: on a shared machine load comes and goes, and alternating gives both sides the
 * same chances. Peak RSS is the highest seen per side.
 */
export async function alternate(
  ours: { mode: string; file: string; nodeArgs?: string[] },
  base: { mode: string; file: string; nodeArgs?: string[] },
): Promise<{ ours: WorkerResult; base: WorkerResult }> {
  const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
  const keep = (best: WorkerResult | undefined, r: WorkerResult): WorkerResult =>
    !best
      ? r
      : {
          ...(r.seconds < best.seconds ? r : best),
          peak_rss_mb: Math.max(best.peak_rss_mb, r.peak_rss_mb),
        };
  let o: WorkerResult | undefined;
  let b: WorkerResult | undefined;
  for (let i = 0; i < runs; i++) {
    o = keep(o, await runWorker(ours.mode, ours.file, ours.nodeArgs));
    b = keep(b, await runWorker(base.mode, base.file, base.nodeArgs));
  }
  return { ours: o!, base: b! };
}
