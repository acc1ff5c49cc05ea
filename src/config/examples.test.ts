import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from './load.js';

const dir = join(import.meta.dirname, '../../config/examples');

describe('shipped example configs', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  it('include the embedded default', () => {
    expect(files).toContain('local.yaml');
  });
  for (const f of files) {
    it(`${f} is valid`, () => {
      // Variables the AWS examples expect from the deployment; any value shows they parse.
      const env = new Proxy({} as NodeJS.ProcessEnv, {
        get: (_t, k) => (typeof k === 'string' ? `example-${k.toLowerCase()}` : undefined),
      });
      expect(() => parseConfig(readFileSync(join(dir, f), 'utf8'), f, env)).not.toThrow();
    });
  }
});
