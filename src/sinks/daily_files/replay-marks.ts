import { z } from 'zod';
import type { StateStore } from '../../core/component.js';
import { describeError } from '../../core/errors.js';

/** The state-store key of a day-files sink's marks: beside the checkpoints they go with. */
export function marksKey(sink: string): string {
  return `daily_files/${sink}/replay-marks`;
}

/**
 * Marks of a crashed run whose writers have not come back this long after start are dropped:
 * a unit replays at its first read, and one that never returns (a finished shard, a source
 * taken out of the config) would otherwise make every open read back to its mark forever.
 */
export const STALE_MARK_MS = 60 * 60_000;

const marksSchema = z
  .object({
    version: z.literal(1),
    files: z.record(
      z.string(),
      z
        .object({
          /** Device and inode: a file rotated away and created anew is not the one marked. */
          file: z.string(),
          /** Writer (runner unit id) → offset of its first write not committed yet. */
          writers: z.record(z.string(), z.number().int().nonnegative()),
        })
        .strict(),
    ),
  })
  .strict();
type MarksFile = z.infer<typeof marksSchema>;

interface WriterMark {
  offset: number;
  /** Written or committed by this process (false: loaded from a previous run, not seen since). */
  live: boolean;
}

interface FileMarks {
  file: string;
  writers: Map<string, WriterMark>;
}

/**
 * Where in each day file every writer's uncommitted writes begin, kept in the state store beside
 * the checkpoints, so that after a crash the replay guard reads back exactly as far as any writer
 * may replay from — however long a writer's delivery sat between its first write and its commit,
 * and however much other writers wrote meanwhile (a tail window of fixed size cannot promise that).
 *
 * A writer is marked (and the mark saved) before its first append after a commit, and unmarked
 * after its source committed everything it delivered; the unmarking is saved lazily, since a
 * mark left behind only makes the next open read further back.
 */
export class ReplayMarks {
  private readonly files = new Map<string, FileMarks>();
  private loaded: Promise<void> | undefined;
  /** The save in progress (or the last one), and the one queued behind it, which takes every change made until it starts. */
  private saving: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;
  private readonly startedAt = Date.now();
  private staleDropped = false;

  /**
   * Without a state store (a one-shot CLI run), the marks live as long as the process. `warn` hears
   * once of saved marks that cannot be used.
   */
  constructor(
    private readonly store: StateStore | undefined,
    private readonly key: string,
    private readonly warn: (message: string) => void = () => {},
  ) {}

  /** Reads the saved marks once; marks that cannot be used are ignored (the guard then reads the tail). */
  load(): Promise<void> {
    this.loaded ??= this.readSaved().then((warning) => {
      if (warning) this.warn(warning);
    });
    return this.loaded;
  }

  /**
   * The earliest offset a writer may replay from in the file `key` (a path under the root),
   * when the file is still the one marked (`file`: device and inode); a file replaced since
   * loses its marks.
   */
  floor(key: string, file: string): number | undefined {
    const m = this.files.get(key);
    if (!m) return undefined;
    if (m.file !== file) {
      this.files.delete(key);
      return undefined;
    }
    this.dropStale();
    let min: number | undefined;
    for (const w of m.writers.values()) if (min === undefined || w.offset < min) min = w.offset;
    return min;
  }

  /** Marks `writer`'s uncommitted writes in `key` as beginning at `offset`; true when that is new (save before writing). */
  hold(key: string, file: string, writer: string, offset: number): boolean {
    this.dropStale();
    let m = this.files.get(key);
    if (!m || m.file !== file) {
      m = { file, writers: new Map() };
      this.files.set(key, m);
    }
    const had = m.writers.get(writer);
    if (had) {
      had.live = true;
      return false;
    }
    m.writers.set(writer, { offset, live: true });
    return true;
  }

  /**
   * The writer is back (writing, or replaying what is already written): its marks from before
   * a crash stay until it commits, since its replay starts there.
   */
  seen(writer: string): void {
    for (const m of this.files.values()) {
      const mark = m.writers.get(writer);
      if (mark) mark.live = true;
    }
  }

  /** The writer committed everything: forgets its marks in every file; true when there were some. */
  release(writer: string): boolean {
    let changed = false;
    for (const [key, m] of this.files) {
      if (!m.writers.delete(writer)) continue;
      changed = true;
      if (m.writers.size === 0) this.files.delete(key);
    }
    return changed;
  }

  /** The file is gone (retention): nothing in it can be replayed against. */
  forget(key: string): boolean {
    return this.files.delete(key);
  }

  /** Writers holding the file back the furthest, for a warning when the guard cannot read that far. */
  oldestWriter(key: string): string | undefined {
    const m = this.files.get(key);
    let oldest: [string, number] | undefined;
    for (const [w, { offset }] of m?.writers ?? []) if (!oldest || offset < oldest[1]) oldest = [w, offset];
    return oldest?.[0];
  }

  private dropStale(): void {
    if (this.staleDropped || Date.now() - this.startedAt < STALE_MARK_MS) return;
    this.staleDropped = true;
    for (const [key, m] of this.files) {
      for (const [w, mark] of m.writers) if (!mark.live) m.writers.delete(w);
      if (m.writers.size === 0) this.files.delete(key);
    }
  }

  /** Resolves once a save that includes every change made so far is on disk. */
  save(): Promise<void> {
    if (this.queued) return this.queued;
    const next = this.saving.then(() => {
      this.queued = undefined;
      return this.writeNow();
    });
    this.queued = next;
    this.saving = next.catch(() => undefined);
    return next;
  }

  /** Waits for the saves under way (closing). */
  async flush(): Promise<void> {
    await this.saving;
  }

  private async writeNow(): Promise<void> {
    if (!this.store) return;
    if (this.files.size === 0) return this.store.delete(this.key);
    // fromEntries defines own properties: a key such as __proto__ stays data.
    const out: MarksFile = {
      version: 1,
      files: Object.fromEntries(
        [...this.files].map(([key, m]) => [
          key,
          { file: m.file, writers: Object.fromEntries([...m.writers].map(([w, mark]) => [w, mark.offset])) },
        ]),
      ),
    };
    await this.store.put(this.key, out);
  }

  private async readSaved(): Promise<string | undefined> {
    if (!this.store) return undefined;
    let saved: MarksFile | undefined;
    try {
      const value = await this.store.get<unknown>(this.key);
      if (value === undefined) return undefined;
      saved = marksSchema.parse(value);
    } catch (e) {
      const why =
        e instanceof z.ZodError ? `not valid: ${e.issues[0]?.message ?? 'invalid'}` : describeError(e);
      return `replay marks '${this.key}' ignored (${why}); reading only the tail of each day file`;
    }
    for (const [key, m] of Object.entries(saved.files))
      this.files.set(key, {
        file: m.file,
        writers: new Map(Object.entries(m.writers).map(([w, offset]) => [w, { offset, live: false }])),
      });
    return undefined;
  }
}
