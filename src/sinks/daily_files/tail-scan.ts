import type { FileHandle } from 'node:fs/promises';
import { REPLAY_GUARD_EVENTS } from '../../core/uncommitted.js';

/**
 * The furthest back an open reads for ids (~1.5 M events of ~350 bytes, ~150 MB of ids at
 * most): a writer that has held its commit back further than this is warned about instead.
 */
export const MAX_REPLAY_SCAN_BYTES = 512 * 1024 * 1024;
const CHUNK = 4 * 1024 * 1024;

export interface TailScan {
  /** The file's size once a torn last line is cut. */
  end: number;
  /** Event ids of the lines read. */
  ids: Set<string>;
  /** Where reading stopped. */
  from: number;
  /** The scan stopped at MAX_REPLAY_SCAN_BYTES before reaching `floor`. */
  short: boolean;
}

/**
 * Cuts a torn last line and reads event ids back from the end: at least `minBytes`, on until the
 * ids of the last REPLAY_GUARD_EVENTS events are known (writers that do not say when they commit),
 * and on to `floor`, where the replay marks say the oldest uncommitted write begins. `minBytes` 0
 * turns the guard off.
 */
export async function scanForReplays(
  fh: FileHandle,
  size: number,
  minBytes: number,
  floor: number | undefined,
): Promise<TailScan> {
  const end = size === 0 ? 0 : await cutTornLine(fh, size);
  const ids = new Set<string>();
  if (minBytes === 0 || end === 0) return { end, ids, from: end, short: false };
  const mark = Math.min(floor ?? end, end);
  const enough = (pos: number) => end - pos >= minBytes && ids.size >= REPLAY_GUARD_EVENTS && pos <= mark;
  let pos = end;
  // The start of a line whose end was read, when a chunk boundary fell inside it.
  let carry: Buffer = Buffer.alloc(0);
  while (pos > 0 && !enough(pos)) {
    if (end - pos >= MAX_REPLAY_SCAN_BYTES) return { end, ids, from: pos, short: pos > mark };
    const start = Math.max(0, pos - CHUNK);
    const buf = Buffer.allocUnsafe(pos - start + carry.length);
    await readFully(fh, buf, pos - start, start);
    carry.copy(buf, pos - start);
    // Bytes before the first newline belong to a line that began before this chunk.
    const first = start === 0 ? 0 : buf.indexOf(0x0a) + 1;
    if (start > 0 && first === 0) {
      carry = buf;
      pos = start;
      continue;
    }
    addIds(buf, first, ids);
    carry = Buffer.from(buf.subarray(0, first));
    pos = start;
  }
  return { end, ids, from: pos, short: false };
}

async function readFully(fh: FileHandle, buf: Buffer, length: number, position: number): Promise<void> {
  for (let done = 0; done < length; ) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) throw new Error(`file shrank while reading it at ${position + done}`);
    done += bytesRead;
  }
}

/** The event ids of the whole lines in `buf` from `from` on. */
function addIds(buf: Buffer, from: number, ids: Set<string>): void {
  for (let at = from; at < buf.length; ) {
    let nl = buf.indexOf(0x0a, at);
    if (nl === -1) nl = buf.length;
    if (nl > at) {
      try {
        const id = (JSON.parse(buf.toString('utf8', at, nl)) as { event?: { id?: unknown } }).event?.id;
        if (typeof id === 'string') ids.add(id);
      } catch {
        // A line someone else wrote; it has no id to dedup against.
      }
    }
    at = nl + 1;
  }
}

/** A crash mid-append left half a line; it will be written again whole by the replay. Returns the new size. */
async function cutTornLine(fh: FileHandle, size: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024);
  for (let end = size; end > 0; ) {
    const start = Math.max(0, end - chunk.length);
    await fh.read(chunk, 0, end - start, start);
    const nl = chunk.subarray(0, end - start).lastIndexOf(0x0a);
    if (nl !== -1) {
      if (start + nl + 1 !== size) await fh.truncate(start + nl + 1);
      return start + nl + 1;
    }
    end = start;
  }
  await fh.truncate(0);
  return 0;
}
