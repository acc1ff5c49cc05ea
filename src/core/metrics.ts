/** Counters and gauges kept in memory and rendered in Prometheus text format by the daemon. */
export class Metrics {
  private readonly counters = new Map<string, Series>();
  private readonly gauges = new Map<string, Series>();

  inc(name: string, labels: Record<string, string> = {}, by = 1, help = name): void {
    bump(this.counters, name, labels, help, (v) => v + by);
  }

  set(name: string, labels: Record<string, string>, value: number, help = name): void {
    bump(this.gauges, name, labels, help, () => value);
  }

  get(name: string, labels: Record<string, string> = {}): number {
    const key = labelKey(labels);
    return this.counters.get(name)?.values.get(key) ?? this.gauges.get(name)?.values.get(key) ?? 0;
  }

  /** Sum of a counter across all label sets. */
  total(name: string): number {
    let sum = 0;
    for (const v of this.counters.get(name)?.values.values() ?? []) sum += v;
    return sum;
  }

  /** Each label set of a counter with its value (the dashboard's per-source and per-sink rates). */
  series(name: string): { labels: Record<string, string>; value: number }[] {
    const m = this.counters.get(name);
    return m ? [...m.values].map(([key, value]) => ({ labels: m.labels.get(key)!, value })) : [];
  }

  prometheus(): string {
    const out: string[] = [];
    for (const [kind, map] of [
      ['counter', this.counters],
      ['gauge', this.gauges],
    ] as const) {
      for (const [name, { help, values }] of map) {
        out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${kind}`);
        for (const [labels, v] of values) out.push(`${name}${labels} ${v}`);
      }
    }
    return `${out.join('\n')}\n`;
  }
}

function labelKey(labels: Record<string, string>): string {
  // Code-unit order, not localeCompare: label names are ASCII identifiers, and the first
  // localeCompare call loads ICU's collator (~7 ms of every CLI start, e.g. `logferry decode`).
  const entries = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

/**
 * The text format's escaping: a unit or source name holding a quote or a line break (a Duo log,
 * a shard id from config) must not end the label early or forge a series line.
 */
export function escapeLabelValue(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

interface Series {
  help: string;
  values: Map<string, number>;
  labels: Map<string, Record<string, string>>;
}

function bump(
  map: Map<string, Series>,
  name: string,
  labels: Record<string, string>,
  help: string,
  f: (v: number) => number,
): void {
  let m = map.get(name);
  if (!m) {
    m = { help, values: new Map(), labels: new Map() };
    map.set(name, m);
  }
  const key = labelKey(labels);
  if (!m.labels.has(key)) m.labels.set(key, { ...labels });
  m.values.set(key, f(m.values.get(key) ?? 0));
}
