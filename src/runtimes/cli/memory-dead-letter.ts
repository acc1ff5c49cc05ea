import type { DeadLetterEntry, DeadLetterStore, StoredDeadLetter } from '../../core/component.js';
import { redactDeadLetter } from '../../core/redact.js';

/** Keeps dead letters in memory and reports each as one line; `decode` uses it to show bad input. */
export class ReportingDeadLetterStore implements DeadLetterStore {
  readonly entries: StoredDeadLetter[] = [];
  constructor(private readonly report: (line: string) => void) {}

  async put(entry: DeadLetterEntry): Promise<string> {
    const id = String(this.entries.length + 1);
    const safe = redactDeadLetter(entry);
    this.entries.push({ ...safe, id, time: new Date().toISOString() });
    this.report(`logferry: ${safe.error}`);
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
