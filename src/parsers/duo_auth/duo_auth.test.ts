import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RawItem } from '../../core/batch.js';
import { runBatch } from '../../core/pipeline.js';
import { MemorySink, testPipeline } from '../../testing/memory.js';
import { DuoAuthParser } from './index.js';

const doc = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/authlogs-v2.json'), 'utf8'));
const example = doc.response.authlogs[0];
const item = (value: unknown, n = 0): RawItem => ({
  ackId: `a${n}`,
  origin: { source: 'duo', type: 'duo', ref: `duo/authentication/${n}` },
  body: { kind: 'object', value },
});

describe('duo_auth parser', () => {
  it("maps Duo's documented authentication log example to ECS and keeps the original", async () => {
    const sink = new MemorySink();
    const p = testPipeline({ parser: new DuoAuthParser(), sinks: [sink] });
    const res = await runBatch({ source: 'duo', items: [item(example)] }, p);
    expect(res.items[0]!.status).toBe('delivered');
    const ev = [...sink.byId.values()][0]!;
    expect(ev.dataset).toBe('duo.authentication');
    expect(ev.doc['@timestamp']).toBe('2020-02-13T18:56:20.351Z');
    expect(ev.doc).toMatchObject({
      event: {
        category: ['authentication'],
        outcome: 'success',
        reason: 'user_approved',
        action: 'authentication',
      },
      user: { name: 'narroway@example.com', id: 'DU3KC77WJ06Y5HIV7XKQ', email: 'narroway@example.com' },
      source: {
        ip: '169.232.89.219',
        geo: { city_name: 'Ann Arbor', region_name: 'Michigan', country_name: 'United States' },
      },
      user_agent: { name: 'Chrome', os: { name: 'Mac OS X', version: '10.14.1' } },
      service: { name: 'Microsoft Azure Active Directory', id: 'DIY231J8BR23QK4UKBY8' },
    });
    expect(ev.doc.duo).toEqual(example);
    expect((ev.doc.duo as { factor: string }).factor).toBe('duo_push');
  });

  it('gives the same id to the same txid, so a repeated page makes no duplicate', async () => {
    const sink = new MemorySink();
    const p = testPipeline({ parser: new DuoAuthParser(), sinks: [sink] });
    await runBatch({ source: 'duo', items: [item(example, 0), item({ ...example }, 1)] }, p);
    expect(sink.byId.size).toBe(1);
  });

  it('dead-letters an event without a timestamp, keeping its content, and delivers the rest', async () => {
    const sink = new MemorySink();
    const p = testPipeline({ parser: new DuoAuthParser(), sinks: [sink] });
    const { timestamp: _t, isotimestamp: _i, ...bad } = example;
    const other = { ...example, txid: 'f00', result: 'denied', reason: 'user_marked_fraud' };
    const res = await runBatch({ source: 'duo', items: [item(bad, 0), item(other, 1)] }, p);
    expect(res.items.map((r) => r.status)).toEqual(['delivered', 'delivered']);
    expect(res.items[0]!.rejected).toBe(1);
    expect(sink.byId.size).toBe(1);
    expect([...sink.byId.values()][0]!.doc).toMatchObject({ event: { outcome: 'failure' } });
    expect(p.deadLetter.entries[0]!.error).toMatch(/duo\/authentication\/0 .*has no timestamp/);
  });
});
