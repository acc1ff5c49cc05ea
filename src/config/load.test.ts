import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { parseConfig } from './load.js';

const minimal = `
sources:
  - name: inbox
    type: inbox
    path: ./in
sinks:
  - name: out
    type: stdout
`;

function errorOf(text: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    parseConfig(text, 'cfg.yaml', env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const msg = (e as Error).message;
    expect(msg).not.toContain('\n');
    return msg;
  }
  throw new Error('expected a ConfigError');
}

describe('config loading', () => {
  it('fills in defaults', () => {
    const c = parseConfig(minimal, 'cfg.yaml', {});
    expect(c.state).toEqual({ type: 'file', path: './var/state', mode: 0o600 });
    expect(c.dead_letter).toEqual({ type: 'file', path: './var/dead-letter', mode: 0o600 });
    expect(c.delivery.max_attempts).toBe(5);
    expect(c.sources[0]).toMatchObject({
      parser: 'auto',
      poll_interval: 1000,
      after: 'move',
      trust_event_fields: false,
    });
    expect(c.limits.max_inflated_bytes).toBe(64 * 1024 * 1024);
  });

  it('reports invalid YAML with its line', () => {
    expect(errorOf('sources:\n  - name: a\n   type: [unclosed\n')).toMatch(/^cfg\.yaml:3: invalid YAML/);
  });

  it('names the key and line of a bad value', () => {
    const text = minimal.replace('path: ./in', 'path: ./in\n    poll_interval: soon');
    expect(errorOf(text)).toMatch(/^cfg\.yaml:6: sources\[0\]\.poll_interval: /);
  });

  it('names an unknown key', () => {
    expect(errorOf(minimal.replace('type: stdout', 'type: stdout\n    colour: red'))).toMatch(
      /^cfg\.yaml:9: sinks\[0\]: unknown key 'colour' — remove it or write one of name, type, format$/,
    );
  });

  it('reports a missing required key at its parent', () => {
    expect(errorOf(minimal.replace('    path: ./in\n', ''))).toMatch(/^cfg\.yaml:3: sources\[0\]\.path: /);
  });

  it('names an unknown component type', () => {
    expect(errorOf(minimal.replace('type: stdout', 'type: carrier-pigeon'))).toMatch(
      /^cfg\.yaml:8: sinks\[0\]\.type: 'carrier-pigeon' is not a known type — write one of stdout, daily_files, /,
    );
  });

  it('refuses two day-file sinks on one folder, or one inside the other', () => {
    const two = (a: string, b: string) =>
      `${minimal}  - name: days1\n    type: daily_files\n    path: ${a}\n  - name: days2\n    type: daily_files\n    path: ${b}\n`;
    expect(errorOf(two('./logs', 'logs/'))).toMatch(
      /sinks\[2\]\.path: daily_files sink 'days2' writes where sink 'days1' does/,
    );
    expect(errorOf(two('./logs', './logs/duo'))).toMatch(
      /sinks\[2\]\.path: daily_files sink 'days2' writes where/,
    );
    expect(errorOf(two('./logs/duo', './logs'))).toMatch(
      /sinks\[2\]\.path: daily_files sink 'days2' writes where/,
    );
    expect(() => parseConfig(two('./logs', './logs2'), 'cfg.yaml', {})).not.toThrow();
  });

  it('checks names and references across the file', () => {
    const text = `${minimal}  - name: out\n    type: stdout\n`;
    expect(errorOf(text)).toMatch(/sinks\[1\]\.name: duplicate sink name 'out'/);
    expect(errorOf(minimal.replace('path: ./in', 'path: ./in\n    sinks: [nowhere]'))).toMatch(
      /sources\[0\]\.sinks\[0\]: no sink named 'nowhere'/,
    );
    expect(errorOf(minimal.replace('path: ./in', 'path: ./in\n    parser: tea-leaves'))).toMatch(
      /unknown parser 'tea-leaves'/,
    );
  });

  it('refuses a duration without a unit instead of reading it as milliseconds', () => {
    // duo_watcher configs wrote `interval: 90` meaning 90 seconds.
    expect(errorOf(minimal.replace('path: ./in', 'path: ./in\n    poll_interval: 90'))).toBe(
      'cfg.yaml:6: sources[0].poll_interval: 90 has no unit — write a duration like 500ms, 30s, 5m, 2h or 7d (90s for 90 seconds)',
    );
    expect(errorOf(minimal.replace('path: ./in', "path: ./in\n    poll_interval: '90'"))).toMatch(
      /poll_interval: '90' is not a duration — write a duration like 500ms, 30s, 5m, 2h or 7d/,
    );
    expect(errorOf(`${minimal}delivery: { backoff: true }\n`)).toMatch(
      /delivery\.backoff: true is not a duration — write a duration like/,
    );
    expect(errorOf(`${minimal}delivery: { backoff: 999999999999999999d }\n`)).toMatch(/is too long — write/);
  });

  it('reads durations with a unit, and 0 alone', () => {
    const c = parseConfig(
      `${minimal}delivery: { backoff: 0, max_backoff: 90s }\ndaemon: { drain_timeout: 2m }\n`,
      'c',
      {},
    );
    expect(c.delivery).toMatchObject({ backoff: 0, max_backoff: 90_000 });
    expect(c.daemon.drain_timeout).toBe(120_000);
  });

  it('says what to write for every kind of mistake', () => {
    const cases: [string, RegExp][] = [
      [
        `${minimal}delivery: { max_attempts: 0 }\n`,
        /delivery\.max_attempts: 0 is too small — write 1 or more$/,
      ],
      [`${minimal}delivery: { max_attempts: many }\n`, /max_attempts: got text — write a number$/],
      [
        `${minimal}daemon: { log_level: loud }\n`,
        /log_level: 'loud' is not allowed — write one of 'trace', 'debug'/,
      ],
      [
        `${minimal}daemon: { status_listen: 8686 }\n`,
        /status_listen: not an address — write host:port like 127\.0\.0\.1:8686/,
      ],
      [minimal.replace('path: ./in', 'path: [a, b]'), /sources\[0\]\.path: got a list — write text$/],
      [minimal.replace('    type: stdout\n', ''), /sinks\[0\]\.type: missing — write type: one of stdout, /],
      [
        minimal.replace('name: out', "name: 'o u t'"),
        /sinks\[0\]\.name: 'o u t' is not a name — write letters/,
      ],
      [
        minimal.replace('path: ./in', 'path: ./in\n    parser: tea-leaves'),
        /unknown parser 'tea-leaves' — write one of auto, /,
      ],
      ['sinks: [{name: a, type: stdout}]\nsources: []\n', /sources: no source — write at least one source/],
      [
        `${minimal}colour: red\n`,
        /\(root\): unknown key 'colour' — remove it or write one of state, dead_letter, /,
      ],
    ];
    for (const [text, want] of cases) expect(errorOf(text)).toMatch(want);
  });

  it('never shows a value that may be a secret, only what kind it is', () => {
    const duo = (skey: string, extra = '') =>
      `sources:\n  - { name: duo, type: duo, host: api-1.duosecurity.com, ikey: DIX, skey: ${skey}${extra} }\nsinks: [{ name: out, type: stdout }]\n`;
    const numeric = errorOf(duo('918273645'));
    expect(numeric).toMatch(/sources\[0\]\.skey: not a secret reference — write text, \{env: VAR\}/);
    expect(numeric).not.toContain('918273645');
    expect(errorOf(duo('{ envv: hunter2-secret }'))).not.toContain('hunter2');
    const hook = errorOf(duo('{ env: X }', ', endpoint: "hooks/T0/B0/tok-s3cret"'));
    expect(hook).toMatch(/endpoint: this is not a URL — write a URL like https:/);
    expect(hook).not.toContain('s3cret');
  });

  it('substitutes environment variables, with defaults', () => {
    const c = parseConfig(
      minimal.replace('./in', '${INBOX}/x').replace('name: out', 'name: ${SINK:-out2}'),
      'cfg.yaml',
      { INBOX: '/data' },
    );
    expect(c.sources[0]).toMatchObject({ path: '/data/x' });
    expect(c.sinks[0]!.name).toBe('out2');
  });

  it('names a missing environment variable and its line', () => {
    expect(errorOf(minimal.replace('./in', '${NOPE}'))).toBe(
      'cfg.yaml:5: environment variable NOPE is not set (write ${NOPE:-default} for a default)',
    );
  });

  it('refuses a config that is not a mapping or has no sources', () => {
    expect(errorOf('- a\n- b\n')).toMatch(/sources|mapping/);
    expect(errorOf('sinks: [{name: a, type: stdout}]\n')).toMatch(
      /^cfg\.yaml:\?: sources: |^cfg\.yaml:1: sources/,
    );
  });
});
