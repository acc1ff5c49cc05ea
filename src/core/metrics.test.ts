import { describe, expect, it } from 'vitest';
import { Metrics } from './metrics.js';

describe('Metrics.prometheus', () => {
  it('escapes label values the way the text format says, so a name cannot forge a series', () => {
    const m = new Metrics();
    m.set('logferry_unit_lag_seconds', { unit: 'a"} 1\nlogferry_fake{x="\\' }, 2);
    const lines = m.prometheus().trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('logferry_unit_lag_seconds{unit="a\\"} 1\\nlogferry_fake{x=\\"\\\\"} 2');
  });
});
