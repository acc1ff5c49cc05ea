import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors.js';
import { parseStatusFlag } from './run.js';

describe('run --status', () => {
  it('takes host:port or "off", like daemon.status_listen', () => {
    expect(parseStatusFlag(undefined)).toBeUndefined();
    expect(parseStatusFlag('off')).toBe(false);
    expect(parseStatusFlag('127.0.0.1:9000')).toBe('127.0.0.1:9000');
    expect(parseStatusFlag('[::1]:9000')).toBe('[::1]:9000');
  });

  it('refuses anything else with a one-line config error', () => {
    for (const bad of ['9000', 'localhost:99999', 'http://127.0.0.1:9000', '127.0.0.1:9000/x', '']) {
      expect(() => parseStatusFlag(bad), bad).toThrow(ConfigError);
    }
    expect(() => parseStatusFlag('localhost:99999')).toThrow(
      '--status "localhost:99999": the port must be 0-65535',
    );
  });
});
