import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlMessage, gzipJson, kinesisLambdaEvent, subscriptionMessage } from '../../demo/cwlogs.js';

const BIN = join(import.meta.dirname, '../../../bin/logferry.mjs');
let dir: string;

function logferry(args: string[], input?: Buffer | string) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    input,
    env: { ...process.env, LOGFERRY_FROM_SOURCE: '1' },
    cwd: dir,
    maxBuffer: 1 << 26,
  });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('logferry CLI', () => {
  it('decodes a Kinesis Lambda event file to NDJSON', async () => {
    const msg = subscriptionMessage({ kind: 'vpc', count: 5, start: 1_764_000_000_000 });
    await writeFile(
      join(dir, 'event.json'),
      JSON.stringify(kinesisLambdaEvent([gzipJson(msg), gzipJson(controlMessage())])),
    );
    const r = logferry(['decode', 'event.json']);
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(5);
    expect(lines[0].aws.cloudwatch.log_group).toBe('/vpc/flow-logs');
  });

  it('decodes with any parser inside any envelope: Kinesis event, base64 lines', async () => {
    const msg = gzipJson(subscriptionMessage({ kind: 'vpc', count: 3, start: 1_764_000_000_000 }));
    await writeFile(join(dir, 'kinesis.json'), JSON.stringify(kinesisLambdaEvent([msg]), null, 2));
    await writeFile(join(dir, 'records.b64'), `${msg.toString('base64')}\n${msg.toString('base64')}\n`);
    for (const file of ['kinesis.json', 'records.b64']) {
      const r = logferry(['decode', '--parser', 'cloudwatch_logs', file]);
      expect(r.stderr).toBe('');
      expect(
        r.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l).event.dataset),
      ).toEqual(Array(file === 'kinesis.json' ? 3 : 6).fill('aws.cloudwatch_logs'));
    }
  });

  it('decodes a Firehose archive of CloudWatch Logs (messages back to back, multi-member gzip)', async () => {
    const a = JSON.stringify(subscriptionMessage({ kind: 'app', count: 2, start: 1_764_000_000_000 }));
    const b = JSON.stringify(subscriptionMessage({ kind: 'vpc', count: 3, start: 1_764_000_000_000 }));
    await writeFile(join(dir, 'archive.gz'), Buffer.concat([gzipSync(a + b), gzipSync(a)]));
    const r = logferry(['decode', 'archive.gz']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toHaveLength(7);
  });

  it('decodes a raw base64 record and a gzip payload from stdin', () => {
    const gz = gzipJson(subscriptionMessage({ kind: 'app', count: 2, start: 1_764_000_000_000 }));
    expect(logferry(['decode'], gz.toString('base64')).stdout.trim().split('\n')).toHaveLength(2);
    expect(logferry(['decode', '-'], gz).stdout.trim().split('\n')).toHaveLength(2);
  });

  it('decodes a pretty-printed JSON document from stdin as it does from a file, small or over 1 MB', async () => {
    const small = JSON.stringify({ user: 'alice', action: 'login' }, null, 2);
    const big = JSON.stringify(
      { items: Array.from({ length: 5000 }, (_, k) => ({ k, pad: 'y'.repeat(200) })) },
      null,
      2,
    );
    expect(big.length).toBeGreaterThan(1 << 20);
    await writeFile(join(dir, 'big.json'), big);
    for (const doc of [small, big]) {
      const piped = logferry(['decode'], doc);
      expect(piped.stderr).toBe('');
      expect(piped.code).toBe(0);
      const got = JSON.parse(piped.stdout);
      const want = JSON.parse(doc);
      for (const k of Object.keys(want)) expect(got[k]).toEqual(want[k]);
    }
    expect(logferry(['decode', 'big.json']).stdout).toHaveLength(logferry(['decode'], big).stdout.length);
  });

  it('ends quietly when the reader of its output goes away (decode | head)', async () => {
    const records = Array.from({ length: 200 }, (_, i) =>
      gzipJson(subscriptionMessage({ kind: 'vpc', count: 200, start: 1_764_000_000_000 + i })).toString(
        'base64',
      ),
    );
    await writeFile(join(dir, 'many.b64'), `${records.join('\n')}\n`);
    const child = spawn(process.execPath, [BIN, 'decode', 'many.b64'], {
      cwd: dir,
      env: { ...process.env, LOGFERRY_FROM_SOURCE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    // Like `head -c 1000`: read a little, then close the pipe.
    await new Promise<void>((resolve) => {
      child.stdout.once('data', () => {
        child.stdout.destroy();
        resolve();
      });
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('prints good records, reports bad ones on stderr and exits 3', async () => {
    const good = gzipJson(subscriptionMessage({ kind: 'app', count: 2, start: 1_764_000_000_000 }));
    await writeFile(
      join(dir, 'mixed.json'),
      JSON.stringify(kinesisLambdaEvent([good, gzipJson({ wrong: 'shape' }).subarray(0, 10)])),
    );
    const r = logferry(['decode', 'mixed.json']);
    expect(r.code).toBe(3);
    expect(r.stdout.trim().split('\n')).toHaveLength(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^logferry: parse mixed\.json line 1 Records\[1\] \(shard shardId-000000000000, sequence \d+, partition key pk-1\): record: gzip stream is truncated/,
      ),
    ]);
  });

  it('exits 2 with one line naming the key and line for a bad config', async () => {
    await writeFile(
      join(dir, 'bad.yaml'),
      'sources:\n  - name: in\n    type: inbox\nsinks:\n  - name: out\n    type: stdout\n',
    );
    const r = logferry(['run', '--config', 'bad.yaml', '--status', 'off']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^logferry: config: bad\.yaml:2: sources\[0\]\.path: /);
  });

  it('exits 2 for an unknown command and 0 for --help', () => {
    expect(logferry(['frobnicate']).code).toBe(2);
    const help = logferry(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('decode');
    expect(logferry(['run', '--help']).stdout).toContain('--config');
  });
});
