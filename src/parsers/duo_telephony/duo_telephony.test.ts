import { describe, expect, it } from 'vitest';
import { runBatch } from '../../core/pipeline.js';
import { MemorySink, testPipeline } from '../../testing/memory.js';
import { DuoTelephonyParser } from './index.js';

// Duo's documented telephony log (v2) example item.
const example = {
  context: 'administrator login',
  credits: 1,
  phone: '+15555550100',
  telephony_id: '220f4c8a-fdd4-4b76-a1b6-0e1d7ed9bc86',
  ts: '2022-10-25T16:27:35.571706+00:00',
  txid: '2be16bc0-8c18-4e2e-a4d1-bd55be3c8f9e',
  type: 'sms',
};

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
