import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The lines of `text` that end in a newline. Tests poll daily files while the sink is still
 * appending, so the last line may be half written; it is complete on the next poll.
 */
export function completeLines(text: string): string[] {
  const end = text.lastIndexOf('\n');
  return end < 0 ? [] : text.slice(0, end).split('\n').filter(Boolean);
}

/** The event ids of every complete line in the daily files under `root` (`root/<folder>/<file>`). */
export async function dailyFileIds(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const folder of await readdir(root).catch(() => [] as string[])) {
    for (const file of await readdir(join(root, folder))) {
      for (const line of completeLines(await readFile(join(root, folder, file), 'utf8')))
        out.push((JSON.parse(line) as { event: { id: string } }).event.id);
    }
  }
  return out;
}
