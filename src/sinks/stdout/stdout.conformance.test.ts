import type { Writable } from 'node:stream';
import { describeSinkConformance } from '../../../test/sink-conformance.js';
import { StdoutSink } from './index.js';

/** The write side of a pipe whose reader can break (EPIPE) or be slow; remembers what it got. */
class Pipe {
  text = '';
  failures = 0;
  delayMs = 0;
  write(chunk: string, done: (err?: Error | null) => void): boolean {
    if (this.failures > 0) {
      this.failures--;
      setImmediate(() => done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })));
      return false;
    }
    setTimeout(() => {
      this.text += chunk;
      done();
    }, this.delayMs);
    return true;
  }
}

describeSinkConformance(
  'stdout',
  async () => {
    const pipe = new Pipe();
    const sink = new StdoutSink('out', 'doc', pipe as unknown as Writable);
    return {
      sink,
      readBack: async () =>
        pipe.text
          .split('\n')
          .filter(Boolean)
          .map((l) => (JSON.parse(l) as { event: { id: string } }).event.id),
      failNext: (times) => {
        pipe.failures += times;
      },
      slowDown: (ms) => {
        pipe.delayMs = ms;
      },
      close: () => sink.close(),
    };
  },
  {
    perEventFailures: false,
    idempotent: { reason: 'a pipe cannot take lines back; readers drop repeats by event.id' },
  },
);
