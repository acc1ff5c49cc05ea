import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors.js';
import { duoDebugMode } from '../duo-debug.js';

describe("the Go function's debug switches", () => {
  it('reads DEBUGDUO=1 as print and DEBUGAWS=1 as fake Duo, and refuses both at once', () => {
    expect(duoDebugMode({})).toBeUndefined();
    expect(duoDebugMode({ DEBUGDUO: '0', DEBUGAWS: 'false' })).toBeUndefined();
    expect(duoDebugMode({ DEBUGDUO: '1' })).toBe('print');
    expect(duoDebugMode({ DEBUGAWS: '1' })).toBe('fake-duo');
    expect(() => duoDebugMode({ DEBUGDUO: '1', DEBUGAWS: '1' })).toThrow(ConfigError);
  });
});
