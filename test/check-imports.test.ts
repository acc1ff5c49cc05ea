import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkImports } from '../scripts/check-imports.js';

let root: string | undefined;

async function tree(files: Record<string, string>): Promise<string> {
  root = await mkdtemp(join(tmpdir(), 'check-imports-'));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}

afterEach(async () => {
  if (root) await rm(root, { recursive: true, force: true });
  root = undefined;
});

describe('check-imports', () => {
  it('passes a pure core, an acyclic tree and tests that use src/testing', async () => {
    const dir = await tree({
      'src/core/event.ts': "import { createHash } from 'node:crypto';\nexport const id = createHash;\n",
      'src/core/component.ts':
        "import type { id } from './event.js';\nexport interface C { process(): void }\n",
      'src/sinks/a/index.ts': "import { id } from '../../core/event.js';\nexport const a = id;\n",
      'src/sinks/a/a.test.ts': "import { fake } from '../../testing/fake.js';\n",
      'src/testing/fake.ts': "import { a } from '../sinks/a/index.js';\nexport const fake = a;\n",
    });
    expect(checkImports(dir)).toEqual([]);
  });

  it('names a cycle, type-only and lazy imports included', async () => {
    const dir = await tree({
      'src/registry.ts':
        "export const load = () => import('./sources/x/index.js');\nexport interface Deps {}\n",
      'src/sources/x/index.ts': "import type { Deps } from '../../registry.js';\nexport type D = Deps;\n",
    });
    expect(checkImports(dir)).toEqual([
      'import cycle: src/registry.ts -> src/sources/x/index.ts -> src/registry.ts',
    ]);
  });

  it('refuses platform imports and the process global in core, and src/testing in production code', async () => {
    const dir = await tree({
      'src/core/logger.ts':
        "import pino from 'pino';\nexport const level = process.env.LEVEL;\nexport default pino;\n",
      'src/core/files.ts': "import { readFile } from 'node:fs/promises';\nexport { readFile };\n",
      'src/core/client.ts':
        "import type { AwsClientOptions } from '../config/common.js';\nexport type A = AwsClientOptions;\n",
      'src/config/common.ts': 'export interface AwsClientOptions {}\n',
      'src/runtimes/cli/pull.ts':
        "import { MemoryStateStore } from '../../testing/memory.js';\nexport { MemoryStateStore };\n",
      'src/testing/memory.ts': 'export class MemoryStateStore {}\n',
    });
    expect(checkImports(dir).sort()).toEqual([
      'src/core/client.ts: core imports ../config/common.js, outside src/core',
      'src/core/files.ts: core imports node:fs/promises',
      'src/core/logger.ts: core imports pino',
      'src/core/logger.ts: core reads the process global',
      'src/runtimes/cli/pull.ts: production code imports ../../testing/memory.js',
    ]);
  });
});
