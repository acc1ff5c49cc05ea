import type { DeadLetterEntry, DeadLetterStore, StoredDeadLetter } from '../../core/component.js';

/** Keeps dead letters in memory and reports each as one line; `decode` uses it to show bad input. */
export class ReportingDeadLetterStore implements DeadLetterStore {
  readonly entries: StoredDeadLetter[] = [];
  constructor(private readonly report: (line: string) => void) {}

  async put(entry: DeadLetterEntry): Promise<string> {
    const id = String(this.entries.length + 1);
    this.entries.push({ ...entry, id, time: new Date().toISOString() });
    this.report(`logferry: ${entry.error}`);
    return id;
  }

  async *list(): AsyncIterable<StoredDeadLetter> {
    yield* this.entries;
  }

  async remove(id: string): Promise<void> {
    const i = this.entries.findIndex((e) => e.id === id);
    if (i >= 0) this.entries.splice(i, 1);
  }
}
