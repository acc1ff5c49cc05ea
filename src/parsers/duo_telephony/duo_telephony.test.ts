import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBatch } from '../../core/pipeline.js';
import { MemorySink, testPipeline } from '../../testing/memory.js';
import { DuoTelephonyParser } from './index.js';

// Duo's documented telephony log (v2) example item.
const example = (
  JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/telephony-v2.json'), 'utf8')) as {
    response: { items: Record<string, unknown>[] };
  }
).response.items[0]!;

describe('duo_telephony parser', () => {
  it('maps a telephony event to ECS with type and credits kept under duo', async () => {
    const sink = new MemorySink();
    const p = testPipeline({ parser: new DuoTelephonyParser(), sinks: [sink] });
    await runBatch(
      {
        source: 'duo',
        items: [
          {
            ackId: 't',
            origin: { source: 'duo', type: 'duo', ref: 'duo/telephony/0' },
            body: { kind: 'object', value: example },
          },
        ],
      },
      p,
    );
    const ev = [...sink.byId.values()][0]!;
    expect(ev.dataset).toBe('duo.telephony');
    expect(ev.doc['@timestamp']).toBe('2022-10-25T16:27:35.571Z');
    expect(ev.doc).toMatchObject({
      event: { action: 'telephony-sms', reason: 'administrator login' },
      duo: { credits: 1, type: 'sms', phone: '+15555550100' },
    });
  });
});
