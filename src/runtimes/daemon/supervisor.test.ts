import { describe, expect, it } from 'vitest';
import type { Source, SourceContext, WriteContext } from '../../core/component.js';
import { ConfigError, SourceError, StateError } from '../../core/errors.js';
import { defaultLimits } from '../../core/limits.js';
import { AutoParser } from '../../parsers/auto/index.js';
import { memoryLogger } from '../../platform/log.js';
import { MemorySink, MemoryStateStore, testPipeline } from '../../testing/memory.js';
import { SourceRunner } from './supervisor.js';

function runner(source: Source) {
  const sink = new MemorySink();
  const r = new SourceRunner(source, {
    pipeline: testPipeline({ parser: new AutoParser(), sinks: [sink] }),
    state: new MemoryStateStore(),
    limits: defaultLimits,
    log: memoryLogger(),
  });
  return { r, sink };
}

function failing(error: Error): Source {
  return {
    name: 'broken',
    async run() {
      throw error;
    },
  };
}

describe('source supervisor', () => {
  for (const [what, error] of [
    ['a corrupt checkpoint', new StateError('checkpoint x is corrupt')],
    ['bad config', new ConfigError('queue_url is missing')],
    [
      'a source that says retrying cannot help',
      new SourceError('every Duo log stopped: 401', { retryable: false }),
    ],
  ] as const) {
    it(`stops a source for good on ${what} and shows it as failed`, async () => {
      const { r } = runner(failing(error));
      await r.run(new AbortController().signal);
      expect(r.state).toBe('failed');
      expect(r.lastError).toContain(error.message);
      expect(r.restarts).toBe(0);
    });
  }

  it("hands a unit's writer to the sinks and tells them when it has committed", async () => {
    const seen: string[] = [];
    const sink = new (class extends MemorySink {
      override async write(events: Parameters<MemorySink['write']>[0], ctx?: WriteContext) {
        seen.push(`write ${ctx?.writer}`);
        return super.write(events);
      }
      async committed(writer: string) {
        seen.push(`committed ${writer}`);
      }
    })();
    const source: Source = {
      name: 'units',
      async run(ctx: SourceContext) {
        const body = { kind: 'bytes' as const, bytes: Buffer.from('{"a":1}') };
        await ctx.process({
          source: 'units',
          writer: 'units/one',
          items: [{ ackId: '1', origin: { source: 'units', type: 't', ref: 'r' }, body }],
        });
        await ctx.committed?.('units/one');
      },
    };
    const r = new SourceRunner(source, {
      pipeline: testPipeline({ parser: new AutoParser(), sinks: [sink] }),
      state: new MemoryStateStore(),
      limits: defaultLimits,
      log: memoryLogger(),
    });
    await r.run(new AbortController().signal);
    expect(seen).toEqual(['write units/one', 'committed units/one']);
  });

  it('restarts a source that crashed, which then does its work', async () => {
    let calls = 0;
    const source: Source = {
      name: 'flaky',
      async run(ctx: SourceContext) {
        if (++calls === 1) throw new Error('connection reset');
        await ctx.process({
          source: 'flaky',
          items: [
            {
              ackId: '1',
              origin: { source: 'flaky', type: 't', ref: 'r' },
              body: { kind: 'bytes', bytes: Buffer.from('{"a":1}') },
            },
          ],
        });
      },
    };
    const { r, sink } = runner(source);
    await r.run(new AbortController().signal);
    expect(r.restarts).toBe(1);
    expect(r.state).toBe('stopped');
    expect(sink.byId.size).toBe(1);
    expect(r.status()).toMatchObject({ name: 'flaky', batches: 1, last_error: 'Error: connection reset' });
  });

  it('holds batches while paused and lets them go on resume', async () => {
    let processed = false;
    const source: Source = {
      name: 'p',
      async run(ctx) {
        await ctx.process({ source: 'p', items: [] });
        processed = true;
      },
    };
    const { r } = runner(source);
    r.pause();
    const done = r.run(new AbortController().signal);
    await new Promise((res) => setTimeout(res, 50));
    expect(processed).toBe(false);
    expect(r.state).toBe('paused');
    r.resume();
    await done;
    expect(processed).toBe(true);
  });
});
