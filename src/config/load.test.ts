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
      /cfg\.yaml:9: sinks\[0\]: Unrecognized key: "colour"/,
    );
  });

  it('reports a missing required key at its parent', () => {
    expect(errorOf(minimal.replace('    path: ./in\n', ''))).toMatch(/^cfg\.yaml:3: sources\[0\]\.path: /);
  });

  it('names an unknown component type', () => {
    expect(errorOf(minimal.replace('type: stdout', 'type: carrier-pigeon'))).toMatch(
      /cfg\.yaml:8: sinks\[0\]\.type: Invalid/,
    );
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
