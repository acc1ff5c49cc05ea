import { describe, expect, it } from 'vitest';
import { ProgressLine, type ProgressStream } from './progress.js';

function terminal(isTTY: boolean, columns = 80): ProgressStream & { out: string[] } {
  const out: string[] = [];
  return {
    isTTY,
    columns,
    out,
    write(text: string) {
      out.push(text);
      return true;
    },
  };
}

describe('progress line', () => {
  it('writes nothing when stderr is a pipe or a file', () => {
    const pipe = terminal(false);
    const p = new ProgressLine({ stream: pipe, env: {} });
    p.update('backfill: 1 object');
    p.above('replayed 1\n', pipe);
    p.done();
    expect(pipe.out).toEqual(['replayed 1\n']);
  });

  it('writes nothing on a dumb terminal or when turned off', () => {
    for (const env of [{ TERM: 'dumb' }, { LOGFERRY_PROGRESS: '0' }]) {
      const tty = terminal(true);
      const p = new ProgressLine({ stream: tty, env });
      p.update('x');
      p.done();
      expect(tty.out).toEqual([]);
    }
  });

  it('redraws in place on a terminal at most once per interval, and clears the line when done', () => {
    const tty = terminal(true);
    let t = 1000;
    const p = new ProgressLine({ stream: tty, env: {}, intervalMs: 200, now: () => t });
    p.update('1 object');
    t += 50;
    p.update('2 objects');
    t += 200;
    p.update('3 objects');
    p.done();
    expect(tty.out).toEqual(['\r\x1b[K1 object', '\r\x1b[K3 objects', '\r\x1b[K']);
  });

  it('keeps report lines above the progress line and redraws the latest state below them', () => {
    const tty = terminal(true);
    const stdout = terminal(true);
    let t = 0;
    const p = new ProgressLine({ stream: tty, env: {}, now: () => t });
    p.update('replay: 1 read');
    t += 10;
    p.update('replay: 2 read');
    p.above('replayed m1 → search\n', stdout);
    expect(stdout.out).toEqual(['replayed m1 → search\n']);
    expect(tty.out).toEqual(['\r\x1b[Kreplay: 1 read', '\r\x1b[K', '\r\x1b[Kreplay: 2 read']);
  });

  it('cuts a line to the terminal width so it never wraps', () => {
    const tty = terminal(true, 20);
    new ProgressLine({ stream: tty, env: {} }).update('x'.repeat(50));
    expect(tty.out[0]).toBe(`\r\x1b[K${'x'.repeat(18)}…`);
  });
});
