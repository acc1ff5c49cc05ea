import { isScalar, LineCounter, parseDocument } from 'yaml';
import type { YamlPath } from './condition.js';

export interface LocatedYaml {
  value: unknown;
  /** Line of the node at `path` (or of its nearest existing parent). */
  lineOf(path: YamlPath): number | string;
}

/** Parses YAML keeping positions; a syntax error throws `file:line: invalid YAML: …`. */
export function parseYaml(text: string, file: string): LocatedYaml {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const line = (offset: number | undefined) => (offset === undefined ? '?' : lc.linePos(offset).line);
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new YamlSyntaxError(`${file}:${line(e.pos[0])}: invalid YAML: ${e.message.split('\n')[0]}`);
  }
  return {
    value: doc.toJS(),
    lineOf(path) {
      for (let n = path.length; n >= 0; n--) {
        const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
        const range = isScalar(node) || (node && 'range' in node) ? node?.range : undefined;
        if (range) {
          // A key's value sits on the key's line for scalars; for mappings point at the key.
          if (n > 0 && !isScalar(node)) {
            const parent = doc.getIn(path.slice(0, n - 1), true) as
              | { items?: { key?: { value?: unknown; range?: [number, number, number] } }[] }
              | undefined;
            const pair = parent?.items?.find((p) => p.key && isScalar(p.key) && p.key.value === path[n - 1]);
            if (pair?.key?.range) return line(pair.key.range[0]);
          }
          return line(range[0]);
        }
      }
      return '?';
    },
  };
}

export class YamlSyntaxError extends Error {}
