/**
 * Taking over from the Go Duo function (duopull): its `mintime` state object read from S3
 * (s3rver) with the real SDK client, and the first poll starting exactly there.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { duopullConfig } from '../../src/config/duopull.js';
import { StateError } from '../../src/core/errors.js';
import { runBatch } from '../../src/core/pipeline.js';
import { makeEvents } from '../../src/demo/duo-events.js';
import { FakeDuo } from '../../src/demo/duo-fake.js';
import { memoryLogger } from '../../src/platform/log.js';
import { parsers } from '../../src/registry.js';
import { createDuoClient, DuoSource, type PollContext } from '../../src/sources/duo/index.js';
import { duoSourceSchema } from '../../src/sources/duo/schema.js';
import { MemorySink, MemoryStateStore, testPipeline } from '../../src/testing/memory.js';
import { type S3Emulator, startS3 } from '../../src/testing/s3rver.js';

let s3: S3Emulator;
let fake: FakeDuo;
let endpoint: string;
beforeAll(async () => {
  s3 = await startS3();
  await s3.createBucket('duopull-state');
  fake = new FakeDuo();
  endpoint = await fake.listen();
});
afterAll(async () => {
  await fake.close();
  await s3.stop();
});

async function putMintime(body: string): Promise<void> {
  await s3.client.send(new PutObjectCommand({ Bucket: 'duopull-state', Key: 'mintime', Body: body }));
}

async function source(): Promise<DuoSource> {
  const cfg = duoSourceSchema.parse({
    type: 'duo',
    name: 'duo',
    host: fake.host,
    ikey: fake.ikey,
    skey: fake.skey,
    endpoint,
    resume_from: { duopull_s3: { bucket: 'duopull-state', aws: s3.aws } },
  });
  return new DuoSource(cfg, await createDuoClient(cfg));
}

async function pollContext(sink: MemorySink): Promise<PollContext> {
  const duoAuth = (await parsers.duo_auth!()).create({});
  const pipeline = testPipeline({ parser: duoAuth, sinks: [sink] }, { parser: async () => duoAuth });
  return { state: new MemoryStateStore(), log: memoryLogger(), process: (b) => runBatch(b, pipeline) };
}

describe('resuming where the Go Duo function stopped', () => {
  it('starts each log at the mintime of its S3 state object: nothing before it, everything from it', async () => {
    const mintime = Math.floor(Date.now() / 1000) - 3600;
    // The Go function sent everything up to the second before mintime (it stores last second + 1).
    const sent = makeEvents('authentication', 4, (mintime - 1) * 1000, 200);
    const fresh = makeEvents('authentication', 5, mintime * 1000, 700, 4);
    fake.add('authentication', [...sent, ...fresh]);
    await putMintime(
      JSON.stringify({ administrator: mintime - 50, authentication: mintime, telephony: mintime - 10 }),
    );
    const sink = new MemorySink();
    const r = await (await source()).pollLog('authentication', await pollContext(sink));
    expect(r).toMatchObject({ events: 5, caughtUp: true });
    expect([...sink.byId.values()].map((e) => (e.doc.duo as { txid: string }).txid)).toEqual(
      fresh.map((e) => e.id),
    );
  });

  it('starts from the lookback when the bucket has no state object (the Go function never ran)', async () => {
    await s3.createBucket('duopull-empty');
    const cfg = duoSourceSchema.parse({
      type: 'duo',
      name: 'duo',
      host: fake.host,
      ikey: fake.ikey,
      skey: fake.skey,
      endpoint,
      lookback: '1d',
      resume_from: { duopull_s3: { bucket: 'duopull-empty', aws: s3.aws } },
    });
    const src = new DuoSource(cfg, await createDuoClient(cfg));
    await src.checkCheckpoints(new MemoryStateStore());
    const sink = new MemorySink();
    const r = await src.pollLog('telephony', await pollContext(sink));
    expect(r).toEqual({ log: 'telephony', events: 0, pages: 1, caughtUp: true });
    const asked = fake.requests.filter((q) => q.path.endsWith('/telephony')).at(-1)!;
    // A day back (lookback), not an imported second.
    expect(Number(asked.params.mintime)).toBeLessThan(Date.now() - 23 * 3_600_000);
  });

  it('refuses a state object of another shape, in one line naming the object', async () => {
    await putMintime(JSON.stringify({ authentication: 1764000000 }));
    const err = await (await source()).checkCheckpoints(new MemoryStateStore()).catch((e: Error) => e);
    expect(err).toBeInstanceOf(StateError);
    expect((err as Error).message).toMatch(
      /^duopull state s3:\/\/duopull-state\/mintime is not \{"administrator".*\); refusing to start$/,
    );
  });

  it('is what a Lambda configured by the old DUOPULL_* variables resumes from', () => {
    const cfg = duopullConfig({
      DUOPULL_REGION: 'us-east-1',
      DUOPULL_S3_BUCKET: 'duopull-state',
      DUOPULL_KINESIS_STREAM: 'duo-logs',
      DUOPULL_HOST: fake.host,
      DUOPULL_IKEY: fake.ikey,
      DUOPULL_SKEY: 'x',
    });
    expect(cfg?.sources[0]).toMatchObject({
      resume_from: { duopull_s3: { bucket: 'duopull-state', key: 'mintime' } },
    });
  });
});
