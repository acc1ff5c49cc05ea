/**
 * `npm run bench -- NAME [NAME…]` runs benchmarks from bench/NAME.ts; each prints what it did
 * on stderr and, as its last stdout line, one JSON object (see lib.ts). No name runs them all.
 * A benchmark that measures memory runs in its own process so others' garbage does not count.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const known = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .sort();
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length ? wanted : known;
let failed = false;
const lines: Record<string, unknown>[] = [];
for (const name of names) {
  if (!known.includes(name)) {
    process.stderr.write(`unknown benchmark '${name}' (known: ${known.join(', ')})\n`);
    process.exit(2);
  }
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', join(here, `${name}.bench.ts`)], {
    stdio: ['inherit', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 1 << 24,
    env: { ...process.env, NODE_OPTIONS: process.env.NODE_OPTIONS ?? '' },
  });
  process.stdout.write(r.stdout ?? '');
  if (r.status !== 0) failed = true;
  const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  try {
    lines.push(JSON.parse(last) as Record<string, unknown>);
  } catch {
    lines.push({ name, error: `exited ${r.status ?? r.signal}` });
  }
}
if (lines.length > 1) process.stderr.write(summary(lines));
process.exit(failed ? 1 : 0);

/** One table after a run of several benches: each line's ratio against its targets. */
function summary(rows: Record<string, unknown>[]): string {
  const cols = [
    'name',
    'events_per_s',
    'ratio',
    'target_ratio',
    'vs_python',
    'target_vs_python',
    'peak_rss_mb',
  ];
  const cell = (v: unknown) => (v === undefined || v === null ? '-' : String(v));
  const table = [
    cols,
    ...rows.map((row) => cols.map((c) => cell(row[c] ?? (c === 'name' ? '' : row.error)))),
  ];
  const widths = cols.map((_, i) => Math.max(...table.map((t) => cell(t[i]).length)));
  const text = table.map((t) => t.map((v, i) => cell(v).padEnd(widths[i]!)).join('  ')).join('\n');
  return `\nsummary\n${text}\n`;
}
