import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { StateStore } from '../../core/component.js';
import { StateError } from '../../core/errors.js';
import {
  type FileModes,
  modesFor,
  PRIVATE_MODES,
  pathUnder,
  writeFileAtomic,
} from '../../platform/fsutil.js';
import type { FileStateConfig } from './schema.js';

/** Checkpoints as one JSON file per key, replaced by atomic rename so a crash never leaves half a file. */
export class FileStateStore implements StateStore {
  private swept = false;

  constructor(
    private readonly dir: string,
    private readonly modes: FileModes = PRIVATE_MODES,
  ) {}

  /**
   * A process killed while writing a key leaves its temporary file behind (one per kill, and a
   * daemon writes often); those not touched for a minute are nobody's write in progress.
   */
  private async sweepTemporaryFiles(): Promise<void> {
    if (this.swept) return;
    this.swept = true;
    const now = Date.now();
    for (const f of await readdir(this.dir).catch(() => [] as string[])) {
      if (!f.endsWith('.tmp')) continue;
      const p = join(this.dir, f);
      const st = await stat(p).catch(() => undefined);
      if (st?.isFile() && now - st.mtimeMs > 60_000) await rm(p, { force: true });
    }
  }

  /** Keys name shards, Duo logs and prefixes; encoded so that no key holds a separator. */
  private file(key: string): string {
    return pathUnder(this.dir, `${encodeURIComponent(key)}.json`);
  }

  async get<T>(key: string): Promise<T | undefined> {
    const path = this.file(key);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new StateError(`checkpoint ${path} cannot be read: ${(e as Error).message}`, { cause: e });
    }
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      // Starting over silently would re-read (or skip) everything: stop and let a person decide.
      throw new StateError(
        `checkpoint ${path} is corrupt (${(e as Error).message}); refusing to start. Fix or remove the file to continue`,
        { cause: e },
      );
    }
  }

  async put<T>(key: string, value: T): Promise<void> {
    await this.sweepTemporaryFiles();
    await writeFileAtomic(this.file(key), `${JSON.stringify(value)}\n`, this.modes);
  }

  async delete(key: string): Promise<void> {
    await rm(this.file(key), { force: true });
  }
}

export function create(cfg: FileStateConfig): StateStore {
  return new FileStateStore(cfg.path, modesFor(cfg.mode));
}
