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
for (const name of names) {
  if (!known.includes(name)) {
    process.stderr.write(`unknown benchmark '${name}' (known: ${known.join(', ')})\n`);
    process.exit(2);
  }
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', join(here, `${name}.bench.ts`)], {
    stdio: 'inherit',
    env: { ...process.env, NODE_OPTIONS: process.env.NODE_OPTIONS ?? '' },
  });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
