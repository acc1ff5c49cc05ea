import type { RawItem } from '../core/batch.js';
import type { ParseContext } from '../core/component.js';
import { describeError } from '../core/errors.js';
import type { LogEvent } from '../core/event.js';
import { setField } from '../core/fields.js';
import { defaultLimits } from '../core/limits.js';
import { finalizeEvent } from '../core/pipeline.js';
import { memoryLogger } from '../platform/log.js';
import { parsers } from '../registry.js';
import { RuleEngine } from './engine.js';
import type { Alert, Rule, RuleExample } from './types.js';
import { MemoryWindowStore } from './window.js';

/** Examples without a time of their own start here, so runs are repeatable. */
const BASE_TIME = Date.parse('2026-01-05T09:00:00Z');

export interface ExampleFailure {
  rule: string;
  where: string;
  message: string;
}

export interface ExampleReport {
  rules: number;
  examples: number;
  failures: ExampleFailure[];
}

/** Events for one example: parsed by its parser (the real one), or the ECS document as given. */
export async function exampleEvents(rule: Rule, ex: RuleExample, ref: string): Promise<LogEvent[]> {
  const base: LogEvent[] = [];
  const origin = { source: 'rules-test', type: 'example', ref };
  if (ex.input !== undefined) {
    const load = parsers[ex.parser!];
    if (!load) throw new Error(`parser '${ex.parser}' is not available`);
    const parser = (await load()).create({});
    const input =
      ex.parser === 'cloudtrail' && ex.input && typeof ex.input === 'object' && !('Records' in ex.input)
        ? { Records: [ex.input] }
        : ex.input;
    const item: RawItem = {
      ackId: ref,
      origin,
      body:
        typeof input === 'string'
          ? { kind: 'bytes', bytes: Buffer.from(input) }
          : ex.parser === 'cloudtrail'
            ? { kind: 'bytes', bytes: Buffer.from(JSON.stringify(input)) }
            : { kind: 'object', value: structuredClone(input) },
    };
    const problems: string[] = [];
    const ctx: ParseContext = {
      limits: defaultLimits,
      reject: async (part, e) => {
        problems.push(`${part.ref}: ${describeError(e)}`);
      },
    };
    for await (const d of parser.parse(item, ctx)) base.push(finalizeEvent(d, origin));
    if (problems.length > 0) throw new Error(`the parser refused the input: ${problems[0]}`);
    if (base.length === 0) throw new Error(`parser '${ex.parser}' made no event of the input`);
  } else {
    const doc = structuredClone(ex.event!) as Record<string, unknown>;
    const t = typeof doc['@timestamp'] === 'string' ? Date.parse(doc['@timestamp']) : Number.NaN;
    base.push(
      finalizeEvent(
        {
          dataset: ex.dataset ?? rule.datasets[0]!,
          timestamp: Number.isNaN(t) ? BASE_TIME : t,
          doc,
          idParts: [ref],
        },
        origin,
      ),
    );
  }
  if (ex.repeat === 1 && !ex.vary) return base;
  const out: LogEvent[] = [];
  for (let i = 0; i < ex.repeat; i++)
    for (const ev of base) {
      const doc = structuredClone(ev.doc);
      for (const [f, list] of Object.entries(ex.vary ?? {})) setField(doc, f, list[i % list.length]);
      const timestamp = ev.timestamp + i * ex.step;
      doc['@timestamp'] = new Date(timestamp).toISOString();
      out.push({ ...ev, id: `${ev.id}-${i}`, timestamp, doc });
    }
  return out;
}

/** The alerts one example makes when run alone through the rule (fresh window state). */
export async function runExample(rule: Rule, ex: RuleExample, ref: string): Promise<Alert[]> {
  const events = await exampleEvents(rule, ex, ref);
  const engine = new RuleEngine([rule], { store: new MemoryWindowStore(), log: memoryLogger() });
  return engine.evaluate(events);
}

/** Runs every rule's examples: each `match` must alert, each `no_match` must not. */
export async function testRules(rules: readonly Rule[], requireExamples = true): Promise<ExampleReport> {
  const failures: ExampleFailure[] = [];
  let examples = 0;
  for (const rule of rules) {
    if (requireExamples && (rule.examples.match.length === 0 || rule.examples.no_match.length === 0))
      failures.push({
        rule: rule.id,
        where: rule.file,
        message: 'needs at least one match and one no_match example',
      });
    for (const kind of ['match', 'no_match'] as const) {
      for (const ex of rule.examples[kind]) {
        examples++;
        const where = `${rule.file.replace(/:\d+$/, '')}:${ex.line}`;
        try {
          const alerts = await runExample(rule, ex, `${rule.id} ${kind} ${where}`);
          if (kind === 'match' && alerts.length === 0)
            failures.push({ rule: rule.id, where, message: 'match example raised no alert' });
          if (kind === 'no_match' && alerts.length > 0)
            failures.push({
              rule: rule.id,
              where,
              message: `no_match example raised an alert: ${alerts[0]!.summary}`,
            });
        } catch (e) {
          failures.push({ rule: rule.id, where, message: `example could not run: ${(e as Error).message}` });
        }
      }
    }
  }
  return { rules: rules.length, examples, failures };
}
