import { readFile } from 'node:fs/promises';
import { isScalar, LineCounter, parseDocument, visit } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { writeHint } from './issues.js';
import { type Config, configSchema } from './schema.js';
import { collectReferences, rememberReferences } from './substitutions.js';

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Reads and validates a config file; every problem is reported as
 * `file:line: key: what is wrong — write …`.
 */
export async function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError(
      `${path}: cannot read config (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      { cause: e },
    );
  }
  return parseConfig(text, path, env);
}

export function parseConfig(text: string, name = 'config', env: NodeJS.ProcessEnv = process.env): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const lineOf = (offset: number | undefined) =>
    offset === undefined ? '?' : lineCounter.linePos(offset).line;
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new ConfigError(`${name}:${lineOf(e.pos[0])}: invalid YAML: ${e.message.split('\n')[0]}`, {
      cause: e,
    });
  }
  const references = collectReferences(doc.toJS(), (v) => v.search(ENV_REF) >= 0);
  const missing: string[] = [];
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value !== 'string' || !node.value.includes('${')) return;
      node.value = node.value.replace(ENV_REF, (_m, v: string, dflt: string | undefined) => {
        const val = env[v];
        if (val !== undefined && val !== '') return val;
        if (dflt !== undefined) return dflt;
        missing.push(
          `${name}:${lineOf(node.range?.[0])}: environment variable ${v} is not set (write \${${v}:-default} for a default)`,
        );
        return '';
      });
    },
  });
  if (missing.length > 0) throw new ConfigError(missing[0]!);
  const raw = doc.toJS() as unknown;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new ConfigError(`${name}: config must be a YAML mapping`);
  const result = configSchema.safeParse(raw, { error: writeHint });
  if (result.success) {
    rememberReferences(result.data, references);
    return result.data;
  }
  throw new ConfigError(formatIssues(result.error.issues, doc, name, lineOf), { cause: result.error });
}

function formatIssues(
  issues: z.core.$ZodIssue[],
  doc: ReturnType<typeof parseDocument>,
  name: string,
  lineOf: (o: number | undefined) => number | string,
): string {
  const lines = issues.slice(0, 5).map((issue) => {
    const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    // An unknown key is best shown on its own line.
    const locate = issue.code === 'unrecognized_keys' && issue.keys[0] ? [...path, issue.keys[0]] : path;
    // The nearest node that exists: a missing key is reported at its parent.
    let line: number | string = '?';
    for (let n = locate.length; n >= 0; n--) {
      const node = doc.getIn(locate.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      const range = isScalar(node) || (node && 'range' in node) ? node?.range : undefined;
      if (range) {
        line = lineOf(range[0]);
        break;
      }
    }
    const key = path.reduce<string>(
      (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${p}` : String(p)),
      '',
    );
    return `${name}:${line}: ${key || '(root)'}: ${issue.message}`;
  });
  const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : '';
  return lines.join('; ') + more;
}
