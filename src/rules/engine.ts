import { DEFAULT_LINKS, fillTemplate, human, round } from '../alerts/format.js';
import type { Detector, Logger, SeenEvents } from '../core/component.js';
import { describeError } from '../core/errors.js';
import type { LogEvent } from '../core/event.js';
import { eventId } from '../core/ids.js';
import type { Metrics } from '../core/metrics.js';
import { type Accessor, accessor, compileCondition, type Doc, type Predicate } from './compile.js';
import { type Candidate, type DatasetPlan, planFor } from './rule-index.js';
import type { Alert, Rule } from './types.js';
import { ValueMemo } from './value-memo.js';
import type { WindowStore, WindowTotals, WindowUpdate } from './window.js';

interface Compiled {
  rule: Rule;
  /** Matches since the metrics were last updated. */
  matches: number;
  match: Predicate;
  where?: Predicate;
  group: Accessor[];
  groupKey: KeyMaker;
  dedupKey: KeyMaker;
  field?: Accessor;
  who: Accessor[];
  place: Accessor[];
}

/** What one evaluate call, or the events seen since the last inspect, collects. */
interface Run {
  hits: Hit[];
  updates: WindowUpdate[];
  updateHits: Hit[];
  newValues: Hit[];
}

const newRun = (): Run => ({ hits: [], updates: [], updateHits: [], newValues: [] });

interface Hit {
  c: Compiled;
  ev: LogEvent;
  totals?: { value: number; group: Record<string, unknown> };
}

export interface EngineOptions {
  store: WindowStore;
  /** Sends alerts (routing, retries, dead-letter). Without it alerts are only returned. */
  deliver?: (alerts: Alert[]) => Promise<void>;
  log: Logger;
  metrics?: Metrics;
  /** How often window state is saved while running (daemon restarts lose at most this much). */
  flushEveryMs?: number;
  /**
   * False tries every rule's whole condition on every event instead of looking rules up by the
   * values they require: the same alerts, slower; the reference the index is tested against.
   */
  index?: boolean;
}

/** The rule engine as the pipeline's detector: compiled rules, windows, dedup and throttle. */
export class RuleEngine implements Detector {
  private readonly compiled: Compiled[];
  private readonly perDataset = new Map<string, DatasetPlan<Compiled>>();
  private lastFlush = Date.now();
  private readonly scratch: WindowUpdate = { key: '', ts: 0, windowMs: 0, count: 1, sum: 0 };

  constructor(
    readonly rules: readonly Rule[],
    private readonly opts: EngineOptions,
  ) {
    this.compiled = rules.map((rule) => {
      const group = (rule.aggregate?.group_by ?? []).map(accessor);
      return {
        rule,
        matches: 0,
        match: compileCondition(rule.condition),
        where: rule.aggregate?.where ? compileCondition(rule.aggregate.where) : undefined,
        group,
        groupKey: new KeyMaker(rule.id, group),
        dedupKey: new KeyMaker(rule.id, rule.dedup.fields.map(accessor)),
        field: rule.aggregate?.field ? accessor(rule.aggregate.field) : undefined,
        who: rule.who.map(accessor),
        place: rule.where.map(accessor),
      };
    });
  }

  private rulesFor(dataset: string): DatasetPlan<Compiled> {
    let plan = this.perDataset.get(dataset);
    if (!plan) {
      plan = planFor(this.compiled, dataset, this.opts.index !== false);
      this.perDataset.set(dataset, plan);
    }
    return plan;
  }

  async inspect(events: readonly LogEvent[]): Promise<void> {
    await this.send(await this.evaluate(events));
  }

  /**
   * Detection one event at a time, as the pipeline takes them (see Detector.start): each event's
   * conditions and windows are evaluated on the spot, and `inspect` sends what the events seen
   * since its last call raised (dedup, throttle, first-seen values and window stores that answer
   * later are settled there, as in evaluate).
   */
  start(): SeenEvents {
    let run = newRun();
    let dataset = '';
    let plan: DatasetPlan<Compiled> | undefined;
    return {
      see: (ev) => {
        if (ev.dataset !== dataset || !plan) {
          plan = this.rulesFor(ev.dataset);
          dataset = ev.dataset;
        }
        this.matchOne(ev, plan, run);
      },
      inspect: async () => {
        const seen = run;
        run = newRun();
        await this.send(await this.settle(seen));
      },
    };
  }

  private async send(alerts: Alert[]): Promise<void> {
    if (alerts.length > 0 && this.opts.deliver) await this.opts.deliver(alerts);
    if (Date.now() - this.lastFlush >= (this.opts.flushEveryMs ?? 5000)) {
      this.lastFlush = Date.now();
      await this.opts.store
        .flush()
        .catch((e) => this.opts.log.warn({}, `rule window state not saved: ${describeError(e)}`));
    }
  }

  /** Runs the rules over events and returns the alerts to send (after dedup and throttle). */
  async evaluate(events: readonly LogEvent[]): Promise<Alert[]> {
    const run = newRun();
    let lastDataset = '';
    let rules: DatasetPlan<Compiled> | undefined;
    for (const ev of events) {
      if (ev.dataset !== lastDataset || !rules) {
        rules = this.rulesFor(ev.dataset);
        lastDataset = ev.dataset;
      }
      this.matchOne(ev, rules, run);
    }
    return this.settle(run);
  }

  /** One event's conditions, in index order; in-memory windows are updated on the spot. */
  private matchOne(ev: LogEvent, rules: DatasetPlan<Compiled>, run: Run): void {
    const doc = ev.doc as Doc;
    for (const ix of rules.indexed) {
      const v = ix.get(doc);
      if (v === undefined || v === null) continue;
      if (Array.isArray(v)) this.tryEach(ix.lookupAll(v), ev, doc, run);
      else {
        const list = ix.lookup(v);
        if (list) this.tryEach(list, ev, doc, run);
      }
    }
    for (const g of rules.guarded)
      if (g.get(doc) !== undefined) for (const c of g.rules) if (c.match(doc)) this.matched(c, ev, doc, run);
    for (const c of rules.always) if (c.match(doc)) this.matched(c, ev, doc, run);
  }

  /** What a run's matches raise: window totals from stores that answer later, first-seen values, dedup and throttle. */
  private async settle(run: Run): Promise<Alert[]> {
    const { hits, updates, updateHits, newValues } = run;
    for (const c of this.compiled)
      if (c.matches > 0) {
        this.opts.metrics?.inc(
          'logferry_rule_matches_total',
          { rule: c.rule.id },
          c.matches,
          'events matching a rule condition',
        );
        c.matches = 0;
      }
    if (updates.length > 0) {
      // A window store that is down stops the windowed rules only; the others still alert.
      const totals = await this.opts.store.add(updates).catch((e) => {
        this.storeFailed('window update', e);
        return [];
      });
      totals.forEach((t, i) => {
        const h = updateHits[i]!;
        const value = aggregateValue(h.c.rule, t);
        if (value !== undefined && passes(h.c.rule, value)) {
          h.totals = { value, group: groupOf(h.c, h.ev.doc as Doc) };
          hits.push(h);
        }
      });
    }
    for (const h of newValues) {
      const a = h.c.rule.aggregate!;
      const v = h.c.field!(h.ev.doc as Doc);
      if (typeof v !== 'string' && typeof v !== 'number') continue;
      const key = h.c.groupKey.of(h.ev.doc as Doc);
      const isNew = await this.opts.store
        .firstSeen(key, String(v), h.ev.timestamp, a.window)
        .catch((e) => this.storeFailed('first-seen', e));
      if (isNew) {
        h.totals = { value: 1, group: { ...groupOf(h.c, h.ev.doc as Doc), [a.field!]: v } };
        hits.push(h);
      }
    }
    if (hits.length === 0) return [];
    return this.dedupAndThrottle(hits);
  }

  private tryEach(list: readonly Candidate<Compiled>[], ev: LogEvent, doc: Doc, run: Run): void {
    for (const { c, rest } of list) if (rest === undefined || rest(doc)) this.matched(c, ev, doc, run);
  }

  private matched(c: Compiled, ev: LogEvent, doc: Doc, run: Run): void {
    c.matches++;
    const a = c.rule.aggregate;
    if (!a) {
      run.hits.push({ c, ev });
      return;
    }
    if (a.function === 'new_value') {
      run.newValues.push({ c, ev });
      return;
    }
    // In memory the window is updated on the spot, through one reused update object: no
    // per-event garbage on the hot path.
    const now = this.opts.store.addNow;
    const u: WindowUpdate = now ? this.scratch : { key: '', ts: 0, windowMs: 0, count: 1, sum: 0 };
    u.key = c.groupKey.of(doc);
    u.ts = ev.timestamp;
    u.windowMs = a.window;
    u.count = 1;
    u.sum = 0;
    u.value = undefined;
    if (a.function === 'sum') {
      const v = c.field!(doc);
      // A value that is not a number is not summed (and does not crash the rule).
      if (typeof v !== 'number' || !Number.isFinite(v)) return;
      u.sum = v;
    } else if (a.function === 'distinct_count') {
      const v = c.field!(doc);
      if (v === undefined || v === null || typeof v === 'object') return;
      u.value = String(v);
    } else if (a.function === 'ratio') u.sum = c.where!(doc) ? 1 : 0;
    if (now) {
      const value = aggregateValue(c.rule, now.call(this.opts.store, u));
      if (value !== undefined && passes(c.rule, value))
        run.hits.push({ c, ev, totals: { value, group: groupOf(c, doc) } });
      return;
    }
    run.updates.push(u);
    run.updateHits.push({ c, ev });
  }

  private async dedupAndThrottle(hits: Hit[]): Promise<Alert[]> {
    const alerts: Alert[] = [];
    const groups = new Map<string, Hit[]>();
    for (const h of hits) {
      if (h.c.rule.dedup.throttle <= 0) {
        alerts.push(this.alert(h, `${h.c.rule.id}:${h.ev.id}`, 0));
        continue;
      }
      const key = h.c.dedupKey.of(h.ev.doc as Doc);
      const g = groups.get(key);
      if (g) g.push(h);
      else groups.set(key, [h]);
    }
    for (const [key, g] of groups) {
      const first = g[0]!;
      // Without the throttle state, a duplicate alert is better than a lost one.
      const claim = await this.opts.store
        .claim(key, first.ev.timestamp, first.c.rule.dedup.throttle, g.length)
        .catch((e) => {
          this.storeFailed('throttle', e);
          return { send: true, suppressed: 0 };
        });
      if (claim.send) alerts.push(this.alert(first, key, claim.suppressed));
    }
    for (const a of alerts)
      this.opts.metrics?.inc(
        'logferry_alerts_total',
        { rule: a.rule.id, severity: a.severity },
        1,
        'alerts raised',
      );
    return alerts;
  }

  private alert(h: Hit, key: string, suppressed: number): Alert {
    const r = h.c.rule;
    const doc = h.ev.doc as Doc;
    const who = firstValue(h.c.who, doc);
    const where = h.c.place
      .map((g) => g(doc))
      .filter((v) => v !== undefined && v !== null && typeof v !== 'object')
      .map(String)
      .join(', ');
    const a = r.aggregate;
    const agg =
      a && h.totals
        ? {
            function: a.function,
            value: round(h.totals.value),
            threshold: a.threshold,
            window_ms: a.window,
            group: h.totals.group,
          }
        : undefined;
    const parts = [r.title];
    if (who) parts.push(`by ${who}`);
    if (where) parts.push(`at ${where}`);
    let summary = parts.join(' ');
    if (agg && a?.function !== 'new_value')
      summary += ` (${a?.function} ${agg.value} in ${human(agg.window_ms)}, threshold ${a?.compare} ${agg.threshold})`;
    const template = r.link ?? DEFAULT_LINKS[h.ev.dataset];
    return {
      id: eventId('alerts', [r.id, key, h.ev.id]),
      rule: { id: r.id, title: r.title, description: r.description, severity: r.severity, tags: r.tags },
      severity: r.severity,
      title: r.title,
      summary,
      time: new Date(h.ev.timestamp).toISOString(),
      dataset: h.ev.dataset,
      dedup_key: key,
      suppressed,
      ...(agg ? { aggregate: agg } : {}),
      ...(who ? { who } : {}),
      ...(where ? { where } : {}),
      ...(template ? { link: fillTemplate(template, doc) } : {}),
      event_id: h.ev.id,
      origin: h.ev.origin.ref,
      event: doc,
    };
  }

  private storeFailed(what: string, e: unknown): false {
    this.opts.log.error({}, `rules: ${what} failed; windowed rules skipped this chunk: ${describeError(e)}`);
    this.opts.metrics?.inc('logferry_rule_state_errors_total', {}, 1, 'rule window store failures');
    return false;
  }

  async close(): Promise<void> {
    await this.opts.store.flush();
  }
}

function firstValue(gets: Accessor[], doc: Doc): string | undefined {
  for (const g of gets) {
    const v = g(doc);
    if (typeof v === 'string' || typeof v === 'number') return String(v);
  }
  return undefined;
}

function groupOf(c: Compiled, doc: Doc): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  c.rule.aggregate?.group_by.forEach((f, i) => {
    out[f] = c.group[i]!(doc) ?? null;
  });
  return out;
}

/**
 * Window and throttle keys: the rule id and each field's value as JSON. For one field the key is
 * remembered per value, so an event makes no new string and the store's lookup reuses the
 * string's hash.
 */
class KeyMaker {
  private readonly memo = new ValueMemo<string>();

  constructor(
    private readonly prefix: string,
    private readonly gets: readonly Accessor[],
  ) {}

  of(doc: Doc): string {
    if (this.gets.length !== 1) return this.compose(doc);
    const v = this.gets[0]!(doc);
    if (!this.memo.canKeep(v)) return this.compose(doc);
    return this.memo.get(v) ?? this.memo.set(v, this.compose(doc));
  }

  private compose(doc: Doc): string {
    let k = this.prefix;
    for (const g of this.gets) k += `\x1f${JSON.stringify(g(doc) ?? null)}`;
    return k;
  }
}

function aggregateValue(rule: Rule, t: WindowTotals): number | undefined {
  const a = rule.aggregate!;
  switch (a.function) {
    case 'count':
      return t.count;
    case 'sum':
      return t.sum;
    case 'distinct_count':
      return t.distinct;
    case 'ratio':
      return t.count >= a.min_count ? t.sum / t.count : undefined;
    default:
      return undefined;
  }
}

function passes(rule: Rule, v: number): boolean {
  const { compare, threshold } = rule.aggregate!;
  return compare === '>='
    ? v >= threshold
    : compare === '>'
      ? v > threshold
      : compare === '<'
        ? v < threshold
        : v <= threshold;
}
