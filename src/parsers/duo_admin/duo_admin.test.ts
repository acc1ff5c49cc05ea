import { describe, expect, it } from 'vitest';
import { runBatch } from '../../core/pipeline.js';
import { MemorySink, testPipeline } from '../../testing/memory.js';
import { DuoAdminParser } from './index.js';

// Duo's documented administrator log (v1) example.
const example = {
  action: 'user_update',
  description: '{"notes": "", "realname": "Joe Smith", "status": "active"}',
  isotimestamp: '2020-01-24T15:09:42+00:00',
  object: 'jsmith',
  timestamp: 1579878582,
  username: 'admin',
};

describe('duo_admin parser', () => {
  it('maps an administrator action to ECS, parses the description and keeps the original', async () => {
    const sink = new MemorySink();
    const p = testPipeline({ parser: new DuoAdminParser(), sinks: [sink] });
    const login = {
      ...example,
      action: 'admin_login_error',
      object: null,
      description: '{"error": "Invalid password", "ip_address": "198.51.100.7"}',
    };
    await runBatch(
      {
        source: 'duo',
        items: [example, login].map((value, n) => ({
          ackId: `a${n}`,
          origin: { source: 'duo', type: 'duo', ref: `duo/administrator/${n}` },
          body: { kind: 'object' as const, value },
        })),
      },
      p,
    );
    const [upd, fail] = [...sink.byId.values()];
    expect(upd!.dataset).toBe('duo.administrator');
    expect(upd!.doc['@timestamp']).toBe('2020-01-24T15:09:42.000Z');
    expect(upd!.doc).toMatchObject({
      event: {
        action: 'user_update',
        category: ['iam', 'configuration'],
        type: ['change'],
        outcome: 'success',
      },
      user: { name: 'admin', target: { name: 'jsmith' } },
      duo: { ...example, description_fields: { realname: 'Joe Smith', status: 'active' } },
    });
    expect(fail!.doc).toMatchObject({
      event: { category: ['authentication'], outcome: 'failure', reason: 'Invalid password' },
      source: { ip: '198.51.100.7' },
    });
  });
});

describe('duo_admin original', () => {
  it('keeps the API object before any change, and a replayed record byte for byte', async () => {
    const sink = new MemorySink();
    const p = testPipeline({ parser: new DuoAdminParser(), sinks: [sink] });
    // A replay from a Go-era record: Duo's spacing kept, not re-serialized.
    const replayed = '{"action": "user_update", "timestamp": 1579878583, "username": "admin"}';
    await runBatch(
      {
        source: 'duo',
        items: [
          {
            ackId: 'a0',
            origin: { source: 'duo', type: 'duo', ref: 'x/0' },
            body: { kind: 'object', value: example },
          },
          {
            ackId: 'a1',
            origin: { source: 'duo', type: 'duo', ref: 'x/1' },
            body: { kind: 'bytes', bytes: Buffer.from(replayed) },
          },
        ],
      },
      p,
    );
    const [live, replay] = [...sink.byId.values()];
    expect(live!.original).toBe(JSON.stringify(example));
    expect(live!.doc.duo).toHaveProperty('description_fields');
    expect(replay!.original).toBe(replayed);
  });
});
