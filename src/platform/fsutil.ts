import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { SourceError, UnsafeNameError } from '../core/errors.js';

/** Permissions for what logferry creates: files, and the folders that hold them. */
export interface FileModes {
  file: number;
  dir: number;
}

/**
 * Day files, dead letters (raw rejected lines, which may hold secrets) and checkpoints are for
 * the service account alone unless the config says otherwise.
 */
export const PRIVATE_MODES: FileModes = { file: 0o600, dir: 0o700 };

/** Folders get search (x) wherever the file mode gives read: 0600 → 0700, 0640 → 0750. */
export function modesFor(fileMode: number): FileModes {
  return { file: fileMode, dir: fileMode | ((fileMode & 0o444) >> 2) };
}

/**
 * `join(root, ...parts)`, refused when the result would not be inside `root`. Names built from
 * event data pass through `safeNameComponent` first; this is the second lock on the same door.
 */
export function pathUnder(root: string, ...parts: string[]): string {
  const base = resolve(root);
  const full = resolve(base, ...parts);
  if (full === base || !full.startsWith(base.endsWith(sep) ? base : base + sep))
    throw new UnsafeNameError(`${JSON.stringify(parts.join('/'))} would be outside ${root}`);
  return join(root, ...parts);
}

/**
 * Writes a file so that readers see either the old or the new content, never half of it:
 * write a temporary file beside it, fsync, rename over, fsync the directory. The file is created
 * with `modes.file` (the rename keeps it) and missing folders with `modes.dir`.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  modes: FileModes = PRIVATE_MODES,
): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: modes.dir });
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', modes.file);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await syncDir(dir);
}

export async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic there.
  } finally {
    await d.close();
  }
}

/** What a directory entry is, in words for a log line. */
export function describeKind(st: Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe';
  if (st.isSocket()) return 'a socket';
  return st.isFile() ? 'a regular file' : 'a device';
}

/**
 * Opens `path` for reading only if it is a regular file itself: no symlink is followed (a link
 * dropped into an inbox could point at any file logferry may read), and a pipe swapped in after
 * the listing neither blocks nor is read.
 */
export async function openRegularFile(path: string): Promise<Readable> {
  const fh = await open(
    path,
    constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0),
  ).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ELOOP') throw new SourceError(`${path} is a symbolic link; not read`, { cause: e });
    throw e;
  });
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new SourceError(`${path} is ${describeKind(st)}, not a regular file; not read`);
  }
  return fh.createReadStream();
}
