import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { standIn } from '../../infra/bundle.js';
import { parseConfig } from './load.js';

const dir = join(import.meta.dirname, '../../config/examples');

describe('shipped example configs', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  it('include the embedded default', () => {
    expect(files).toContain('local.yaml');
  });
  for (const f of files) {
    it(`${f} is valid`, () => {
      // Variables the AWS examples expect from the deployment: the CDK app's stand-ins (an ARN for
      // `*_ARN`, a URL for `*_ENDPOINT`), which it swaps for the deployed resources.
      const env = new Proxy({} as NodeJS.ProcessEnv, {
        get: (_t, k) => (typeof k === 'string' ? standIn(k) : undefined),
      });
      expect(() => parseConfig(readFileSync(join(dir, f), 'utf8'), f, env)).not.toThrow();
    });
  }
});
