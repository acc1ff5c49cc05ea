import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeadLetterEntry, DeadLetterStore, StoredDeadLetter } from '../../core/component.js';
import { StateError } from '../../core/errors.js';
import { redactDeadLetter } from '../../core/redact.js';
import { type FileModes, modesFor, PRIVATE_MODES, writeFileAtomic } from '../../platform/fsutil.js';
import type { FileDeadLetterConfig } from './schema.js';

/**
 * Dead letters as files: `<dir>/<YYYY-MM-DD>/<time>-<random>.json`. Ids sort by time, so a
 * replay goes oldest first; each file is written atomically.
 */
export class FileDeadLetterStore implements DeadLetterStore {
  constructor(
    private readonly dir: string,
    /** Private by default: dead letters hold raw rejected input, which may carry secrets. */
    private readonly modes: FileModes = PRIVATE_MODES,
  ) {}

  async put(entry: DeadLetterEntry): Promise<string> {
    const now = new Date();
    const day = now.toISOString().slice(0, 10);
    const id = `${day}/${now.getTime().toString().padStart(14, '0')}-${randomBytes(5).toString('hex')}`;
    const stored: StoredDeadLetter = { id, time: now.toISOString(), ...redactDeadLetter(entry) };
    await writeFileAtomic(join(this.dir, `${id}.json`), `${JSON.stringify(stored)}\n`, this.modes);
    return id;
  }

  async *list(): AsyncIterable<StoredDeadLetter> {
    let days: string[];
    try {
      days = (await readdir(this.dir)).filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d)).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const day of days) {
      const files = (await readdir(join(this.dir, day))).filter((f) => f.endsWith('.json')).sort();
      for (const f of files) {
        const path = join(this.dir, day, f);
        try {
          yield JSON.parse(await readFile(path, 'utf8')) as StoredDeadLetter;
        } catch (e) {
          throw new StateError(`dead letter ${path} cannot be read: ${(e as Error).message}`, { cause: e });
        }
      }
    }
  }

  async remove(id: string): Promise<void> {
    if (!/^\d{4}-\d{2}-\d{2}\/[\w-]+$/.test(id)) throw new StateError(`not a dead-letter id: ${id}`);
    await rm(join(this.dir, `${id}.json`), { force: true });
  }
}

export function create(cfg: FileDeadLetterConfig): DeadLetterStore {
  return new FileDeadLetterStore(cfg.path, modesFor(cfg.mode));
}
