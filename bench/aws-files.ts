/**
 * Large generated AWS log files for the benchmarks, cached in the temp folder between runs
 * (generation takes longer than the measurement). Deterministic: same size, same bytes.
 */
import { once } from 'node:events';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { rng } from '../src/demo/cwlogs.js';
import { albLine, cloudTrailRecord } from '../src/testing/aws-logs-fixtures.js';
import { progress } from './lib.js';

export const MiB = 1024 * 1024;
const dir = join(tmpdir(), 'logferry-bench');

async function generate(path: string, chunks: () => Generator<string>): Promise<void> {
  if (existsSync(path)) return;
  mkdirSync(dir, { recursive: true });
  const tmp = `${path}.part`;
  const gz = createGzip();
  const out = createWriteStream(tmp);
  gz.pipe(out);
  for (const c of chunks()) if (!gz.write(c)) await once(gz, 'drain');
  gz.end();
  await once(out, 'close');
  renameSync(tmp, path);
}

/** A `{"Records":[…]}` file of about `mib` MiB uncompressed, gzip'd; returns its path. */
export async function cloudTrailBenchFile(mib: number): Promise<{ path: string; records: number }> {
  const target = mib * MiB;
  const path = join(dir, `cloudtrail-${mib}MiB.json.gz`);
  let records = 0;
  const started = Date.now();
  const counted = join(dir, `cloudtrail-${mib}MiB.count`);
  await generate(path, function* () {
    const r = rng(7);
    let size = 12;
    let t = Date.UTC(2026, 10, 25);
    yield '{"Records":[';
    let batch = '';
    while (size < target) {
      t += 97;
      const rec = JSON.stringify(cloudTrailRecord(r, t));
      batch += records === 0 ? rec : `,${rec}`;
      size += rec.length + 1;
      records++;
      if (batch.length > 1 << 20) {
        yield batch;
        batch = '';
        if (records % 100_000 < 700) progress(`  generating ${path}: ${Math.round(size / MiB)} MiB`);
      }
    }
    yield `${batch}]}`;
    // Written beside the file so a cached run knows the count without parsing.
    writeFileSync(counted, String(records));
  });
  if (records === 0) records = Number(readFileSync(counted, 'utf8'));
  else progress(`  generated in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { path, records };
}

/** ALB access log lines (every documented field) totalling about `mib` MiB, gzip'd. */
export async function albBenchFile(mib: number): Promise<{ path: string; lines: number }> {
  const target = mib * MiB;
  const path = join(dir, `alb-${mib}MiB.log.gz`);
  const counted = join(dir, `alb-${mib}MiB.count`);
  let lines = 0;
  await generate(path, function* () {
    const r = rng(9);
    let size = 0;
    let t = Date.UTC(2026, 10, 25);
    let batch = '';
    while (size < target) {
      t += 13;
      const line = `${albLine(r, t)}\n`;
      batch += line;
      size += line.length;
      lines++;
      if (batch.length > 1 << 20) {
        yield batch;
        batch = '';
      }
    }
    yield batch;
    writeFileSync(counted, String(lines));
  });
  if (lines === 0) lines = Number(readFileSync(counted, 'utf8'));
  return { path, lines };
}

export function sizeOf(path: string): number {
  return statSync(path).size;
}
