import { describe, expect, it } from 'vitest';
import { globMatch } from './glob.js';

describe('globMatch', () => {
  it('matches star globs as CloudTrail log group names are written', () => {
    expect(globMatch('aws-cloudtrail-logs-*', 'aws-cloudtrail-logs-123456789012-3a1b2c3d')).toBe(true);
    expect(globMatch('CloudTrail/*', 'CloudTrail/DefaultLogGroup')).toBe(true);
    expect(globMatch('CloudTrail/*', '/aws/lambda/CloudTrail/x')).toBe(false);
    expect(globMatch('*/cloudtrail/*', 'org/cloudtrail/main')).toBe(true);
    expect(globMatch('exact', 'exact')).toBe(true);
    expect(globMatch('exact', 'exactly')).toBe(false);
    expect(globMatch('a*b*c', 'abc')).toBe(true);
    expect(globMatch('a*b*c', 'acb')).toBe(false);
    expect(globMatch('ab*ba', 'aba')).toBe(false);
    expect(globMatch('*', '')).toBe(true);
  });

  it('matches many stars against a long input (the shape that makes backtracking matchers explode)', () => {
    const pattern = `${'a*'.repeat(30)}b`;
    expect(globMatch(pattern, 'a'.repeat(50_000))).toBe(false);
  });
});
