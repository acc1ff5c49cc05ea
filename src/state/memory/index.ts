import type { StateStore } from '../../core/component.js';

/**
 * Checkpoints that last as long as the process: for runs that must not move the real position
 * (`pull duo --stdout`, `--since`, the Lambda's DEBUGDUO print mode) and for tests.
 * Values go through JSON, as in the durable stores, so nobody keeps a live reference to them.
 */
export class MemoryStateStore implements StateStore {
  readonly values = new Map<string, string>();
  async get<T>(key: string): Promise<T | undefined> {
    const v = this.values.get(key);
    return v === undefined ? undefined : (JSON.parse(v) as T);
  }
  async put<T>(key: string, value: T): Promise<void> {
    this.values.set(key, JSON.stringify(value));
  }
  async delete(key: string): Promise<void> {
    this.values.delete(key);
  }
}
