import type { DuckDBValue } from '@duckdb/node-api';
import type { SearchNode } from './syntax.js';

/**
 * Turns a search tree into a SQL condition over a relation with columns `id`, `dataset`,
 * `ts` (TIMESTAMP, UTC) and `doc` (JSON). Every value and every JSON path is a bound parameter;
 * the only text that reaches the SQL comes from this file. Field names were checked against
 * FIELD_NAME by the parser, and are quoted per segment inside the (bound) JSON path.
 */
export class Params {
  readonly values: DuckDBValue[] = [];
  add(v: DuckDBValue): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

/** Fields that are columns of the relation rather than paths in the document. */
const COLUMNS: Record<string, string> = { dataset: 'dataset', 'event.dataset': 'dataset', 'event.id': 'id' };

export function jsonPath(field: string): string {
  return `$.${field
    .split('.')
    .map((s) => `"${s}"`)
    .join('.')}`;
}

function fieldText(field: string, p: Params): string {
  return COLUMNS[field] ?? `json_extract_string(doc, ${p.add(jsonPath(field))})`;
}

function likePattern(value: string): string {
  return value
    .toLowerCase()
    .replace(/[\\%_]/g, (c) => `\\${c}`)
    .replace(/\*/g, '%');
}

const isNumber = (v: string) => /^-?\d+(\.\d+)?$/.test(v);

export function compileCondition(node: SearchNode, p: Params): string {
  switch (node.type) {
    case 'all':
      return 'TRUE';
    case 'and':
    case 'or':
      return `(${node.items.map((n) => compileCondition(n, p)).join(node.type === 'and' ? ' AND ' : ' OR ')})`;
    case 'not':
      return `(NOT coalesce(${compileCondition(node.item, p)}, FALSE))`;
    case 'text':
      return `contains(lower(CAST(doc AS VARCHAR)), ${p.add(node.value.toLowerCase())})`;
    case 'exists':
      return COLUMNS[node.field] ? 'TRUE' : `(json_extract(doc, ${p.add(jsonPath(node.field))}) IS NOT NULL)`;
    case 'match':
      return node.wildcard
        ? `(lower(${fieldText(node.field, p)}) LIKE ${p.add(likePattern(node.value))} ESCAPE '\\')`
        : `(lower(${fieldText(node.field, p)}) = ${p.add(node.value.toLowerCase())})`;
    case 'range':
      return compare(node.field, node.op, node.value, p);
    case 'between':
      return `(${compare(node.field, '>=', node.from, p)} AND ${compare(node.field, '<=', node.to, p)})`;
  }
}

function compare(field: string, op: '>' | '>=' | '<' | '<=', value: string, p: Params): string {
  // Numbers compare as numbers (time_ms:>500); anything else as text, which orders ISO times right.
  if (isNumber(value)) return `(TRY_CAST(${fieldText(field, p)} AS DOUBLE) ${op} ${p.add(Number(value))})`;
  return `(${fieldText(field, p)} ${op} ${p.add(value)})`;
}

export interface TimeRange {
  /** Epoch milliseconds, inclusive. */
  from?: number;
  /** Epoch milliseconds, exclusive. */
  to?: number;
}

export function compileTimeRange(range: TimeRange, p: Params): string {
  const parts: string[] = [];
  if (range.from !== undefined) parts.push(`ts >= epoch_ms(${p.add(Math.trunc(range.from))}::BIGINT)`);
  if (range.to !== undefined) parts.push(`ts < epoch_ms(${p.add(Math.trunc(range.to))}::BIGINT)`);
  return parts.length ? parts.join(' AND ') : 'TRUE';
}
