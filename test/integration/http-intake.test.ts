import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { eventId } from '../../src/core/ids.js';
import { gzipJson, rng, subscriptionMessage } from '../../src/demo/cwlogs.js';
import { memoryLogger } from '../../src/platform/log.js';
import { type Daemon, startDaemon } from '../../src/runtimes/daemon/daemon.js';
import type { HttpIntakeSource } from '../../src/sources/http_intake/index.js';

const KEY_VAR = 'LOGFERRY_TEST_FIREHOSE_KEY';
const ACCESS_KEY = `key-${randomUUID()}`;
const ARN = 'arn:aws:firehose:eu-west-1:123456789012:deliverystream/org-cloudwatch';
const SENDERS = 20;
const REQUESTS = 50;
const EVENTS_PER_RECORD = 3;

let dir: string;
let daemon: Daemon;
let port: number;
const log = memoryLogger();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-intake-'));
  process.env[KEY_VAR] = ACCESS_KEY;
  const config = parseConfig(
    `state: { type: file, path: ${join(dir, 'state')} }
dead_letter: { type: file, path: ${join(dir, 'dead-letter')} }
daemon: { status_listen: false }
sources:
  - name: intake
    type: http_intake
    listen: 127.0.0.1:0
    max_concurrent: 4
    retry_after: 1
    firehose: { access_key: { env: ${KEY_VAR} } }
sinks:
  - name: daily
    type: daily_files
    path: ${join(dir, 'logs')}
    retention_days: 0
    fsync: false
`,
    'intake.yaml',
  );
  daemon = await startDaemon(config, { log, statusListen: false });
  port = await (daemon.runners[0]!.source as HttpIntakeSource).listening;
});

afterAll(async () => {
  await daemon?.stop();
  delete process.env[KEY_VAR];
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Every line of every daily file, as event ids. */
async function deliveredIds(): Promise<string[]> {
  const out: string[] = [];
  const base = join(dir, 'logs');
  for (const d of await readdir(base).catch(() => [] as string[])) {
    for (const f of await readdir(join(base, d))) {
      for (const line of (await readFile(join(base, d, f), 'utf8')).split('\n'))
        if (line) out.push((JSON.parse(line) as { event: { id: string } }).event.id);
    }
  }
  return out;
}

describe('http_intake in the daemon, under concurrent Firehose senders', () => {
  it(`writes every event exactly once from ${SENDERS} senders × ${REQUESTS} requests`, async () => {
    const r = rng(11);
    const expected = new Set<string>();
    const statuses = new Map<number, number>();
    const sender = async (s: number) => {
      for (let i = 0; i < REQUESTS; i++) {
        const msg = subscriptionMessage({
          kind: i % 2 ? 'vpc' : 'app',
          count: EVENTS_PER_RECORD,
          start: 1_764_000_000_000 + (s * REQUESTS + i) * 1000,
          r,
        });
        for (const le of msg.logEvents)
          expected.add(eventId('aws.cloudwatch_logs', [msg.owner, msg.logGroup, msg.logStream, le.id]));
        const requestId = randomUUID();
        const body = gzipSync(
          JSON.stringify({
            requestId,
            timestamp: Date.now(),
            records: [{ data: gzipJson(msg).toString('base64') }],
          }),
        );
        for (;;) {
          const res = await fetch(`http://127.0.0.1:${port}/firehose`, {
            method: 'POST',
            body,
            headers: {
              'content-type': 'application/json',
              'content-encoding': 'gzip',
              'x-amz-firehose-protocol-version': '1.0',
              'x-amz-firehose-request-id': requestId,
              'x-amz-firehose-source-arn': ARN,
              'x-amz-firehose-access-key': ACCESS_KEY,
            },
          });
          const answer = (await res.json()) as { requestId: string };
          expect(answer.requestId).toBe(requestId);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status === 200) break;
          // Only "come back later" is expected here; Retry-After is advice, a test sender is quicker.
          expect(res.status).toBe(429);
          await new Promise((w) => setTimeout(w, 10 + Math.random() * 20));
        }
      }
    };
    await Promise.all(Array.from({ length: SENDERS }, (_, s) => sender(s)));
    expect(statuses.get(200)).toBe(SENDERS * REQUESTS);
    const ids = await deliveredIds();
    expect(ids).toHaveLength(SENDERS * REQUESTS * EVENTS_PER_RECORD);
    expect(new Set(ids)).toEqual(expected);
    expect(JSON.stringify(log.entries)).not.toContain(ACCESS_KEY);
  });
});
