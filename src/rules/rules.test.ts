import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogEvent } from '../core/event.js';
import { memoryLogger } from '../platform/log.js';
import { FileStateStore } from '../state/file/index.js';
import { inCidr, parseCidr } from './cidr.js';
import { RuleEngine } from './engine.js';
import { testRules } from './examples.js';
import { loadRules, parseRule, RuleLoadError } from './load.js';
import { MemoryWindowStore, type WindowStore } from './window.js';

const rule = (text: string, file = 'r.yaml') => parseRule(text, file).rule;

function loadError(text: string, file = 'bad.yaml'): string {
  try {
    parseRule(text, file);
  } catch (e) {
    expect(e).toBeInstanceOf(RuleLoadError);
    return (e as RuleLoadError).problems.join('\n');
  }
  throw new Error('expected a load error');
}

let n = 0;
function ev(
  doc: Record<string, unknown>,
  dataset = 'test.ds',
  ts = Date.parse('2026-01-05T10:00:00Z'),
): LogEvent {
  n++;
  return {
    id: `e${n}`,
    dataset,
    timestamp: ts,
    doc: { '@timestamp': new Date(ts).toISOString(), ...doc },
    origin: { source: 's', type: 't', ref: `ref ${n}` },
  };
}

const head = (cond: string, extra = '') =>
  `id: t1\ntitle: Test\nseverity: low\ndataset: test.ds\n${extra}condition:\n${cond}\n`;

async function alertsFor(text: string, events: LogEvent[], store = new MemoryWindowStore()) {
  return new RuleEngine([rule(text)], { store, log: memoryLogger() }).evaluate(events);
}

describe('rule loading: bad input', () => {
  it('reports a YAML syntax error with file and line', () => {
    const msg = loadError('id: t1\ntitle: Test\nseverity: low\ncondition:\n  all: [a: 1\n', 'rules/x.yaml');
    expect(msg).toMatch(/^rules\/x\.yaml:\d+: invalid YAML: /);
  });

  it('reports an unknown operator by name with its line', () => {
    const msg = loadError(head('  all:\n    - field: user.name\n      matches: bob'));
    expect(msg).toBe(
      "bad.yaml:8: unknown operator 'matches' (known: equals, in, contains, startswith, endswith, regex, cidr, exists, equals_field, gt, gte, lt, lte, >, >=, <, <=)",
    );
  });

  it('reports an unknown operator in the field|op short form', () => {
    expect(loadError(head('  user.name|like: bob'))).toMatch(/^bad\.yaml:6: unknown operator 'like'/);
  });

  it('refuses a regex the linear-time engine cannot run, naming the construct', () => {
    expect(loadError(head("  message: { regex: '(a)x\\1' }"))).toBe(
      "bad.yaml:6: regex '(a)x\\1' uses a backreference (\\1), which the linear-time engine cannot run; rewrite it without",
    );
    expect(loadError(head("  message: { regex: 'foo(?!bar)' }"))).toMatch(
      /^bad\.yaml:6: .* uses lookaround \(\(\?!\)/,
    );
  });

  it('refuses an invalid regex', () => {
    expect(loadError(head("  message: { regex: '(abc' }"))).toMatch(
      /^bad\.yaml:6: invalid regex '\(abc': missing closing \)/,
    );
  });

  it('refuses a number operator with text, and a bad CIDR', () => {
    expect(loadError(head("  n: { '>': high }"))).toMatch(
      /'gt' on 'n' compares numbers; "high" is not a number/,
    );
    expect(loadError(head('  source.ip: { cidr: 10.0.0.0/33 }'))).toMatch(/is not a CIDR range/);
  });

  it('reports missing keys and bad severities at their lines', () => {
    const msg = loadError('id: t1\ntitle: T\nseverity: urgent\ndataset: d\ncondition: { a: 1 }\n');
    expect(msg).toMatch(
      /^bad\.yaml:3: severity: 'urgent' is not allowed — write one of 'info', 'low', 'medium', /,
    );
  });

  it('warns (does not fail) when a field never occurs in the dataset', () => {
    const r = parseRule(
      'id: t1\ntitle: T\nseverity: low\ndataset: aws.cloudtrail\ncondition:\n  aws.cloudtrail.eventNme: CreateTopic\n',
      'w.yaml',
    );
    expect(r.warnings).toEqual([
      "w.yaml:6: field 'aws.cloudtrail.eventNme' never occurs in dataset 'aws.cloudtrail' (rule 't1' will not match on it)",
    ]);
  });

  it('lists every bad file and duplicate ids when loading a folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rules-'));
    try {
      await writeFile(join(dir, 'a.yaml'), head('  x: 1'));
      await writeFile(join(dir, 'b.yaml'), head('  x: 1'));
      await writeFile(join(dir, 'c.yml'), head('  x: { near: 1 }').replace('t1', 't3'));
      await expect(loadRules([dir])).rejects.toMatchObject({
        problems: [
          expect.stringMatching(/b\.yaml:1: rule id 't1' is also used by .*a\.yaml:1/),
          expect.stringMatching(/c\.yml:6: unknown operator 'near'/),
        ],
      });
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});

describe('conditions', () => {
  const match = async (cond: string, doc: Record<string, unknown>, extra = '') =>
    (await alertsFor(head(cond, extra), [ev(doc)])).length === 1;

  it('equals, in, wildcards (case-insensitive, as in Sigma)', async () => {
    expect(await match('  a: x', { a: 'x' })).toBe(true);
    expect(await match('  a: x', { a: 'X' })).toBe(false);
    expect(await match('  a: [x, y]', { a: 'y' })).toBe(true);
    expect(await match("  a: 'Create*'", { a: 'createTopic' })).toBe(true);
    expect(await match("  a: 'Get?'", { a: 'Gets' })).toBe(true);
    expect(await match("  a: 'a\\*b'", { a: 'a*b' })).toBe(true);
    expect(await match("  a: 'a\\*b'", { a: 'axxb' })).toBe(false);
    expect(await match('  n: 5', { n: 5 })).toBe(true);
    expect(await match('  b: true', { b: true })).toBe(true);
  });

  it('contains, startswith, endswith, regex, ignore_case', async () => {
    expect(await match('  a: { contains: ell }', { a: 'hello' })).toBe(true);
    expect(await match('  a: { startswith: [x, he] }', { a: 'hello' })).toBe(true);
    expect(await match('  a: { endswith: LO, ignore_case: true }', { a: 'hello' })).toBe(true);
    expect(await match('  a: { endswith: LO }', { a: 'hello' })).toBe(false);
    expect(await match("  a: { regex: '^h.l+o$' }", { a: 'hello' })).toBe(true);
    expect(await match("  a: { regex: '^H.L+O$', ignore_case: true }", { a: 'hello' })).toBe(true);
    expect(await match('  - field: a\n    contains: x', { a: 'box' })).toBe(true);
  });

  it('ignore_case reads numbers and booleans as text, as Sigma does', async () => {
    expect(await match("  b: { in: ['TRUE'], ignore_case: true }", { b: true })).toBe(true);
    expect(await match("  b: 'true'", { b: true })).toBe(false);
    expect(await match("  p: { in: ['443'], ignore_case: true }", { p: 443 })).toBe(true);
    expect(await match('  p: { in: [443], ignore_case: true }', { p: '443' })).toBe(true);
    expect(await match('  p: { startswith: 44, ignore_case: true }', { p: 443 })).toBe(true);
    expect(await match('  p: { startswith: 44 }', { p: 443 })).toBe(false);
  });

  it('equals_field compares two fields of the same event', async () => {
    const same = '  - field: user.name\n    equals_field: target.name';
    expect(await match(same, { user: { name: 'alice' }, target: { name: 'alice' } })).toBe(true);
    expect(await match(same, { user: { name: 'alice' }, target: { name: 'bob' } })).toBe(false);
    expect(await match(same, { user: { name: 'alice' } })).toBe(false);
    expect(await match(same, { user: { name: 'alice' }, target: { name: ['bob', 'alice'] } })).toBe(true);
    expect(loadError(head('  - field: a\n    equals_field: 3'))).toBe(
      "bad.yaml:7: 'equals_field' on 'a' takes one field path",
    );
  });

  it('a regex that backtracks in V8 completes on a hostile message', async () => {
    const hostile = { message: `${'a'.repeat(60)}b` };
    expect(await match("  message: { regex: '(a|aa)+$' }", hostile)).toBe(false);
    expect(await match("  message: { regex: '(a|aa)+$' }", { message: 'baa' })).toBe(true);
    expect(await match("  message: '*a*a*a*a*a*a*a*c'", hostile)).toBe(false);
  }, 60_000);

  it('cidr for IPv4 and IPv6', async () => {
    expect(await match('  ip: { cidr: [10.0.0.0/8, 2001:db8::/32] }', { ip: '10.1.2.3' })).toBe(true);
    expect(await match('  ip: { cidr: 10.0.0.0/8 }', { ip: '11.1.2.3' })).toBe(false);
    expect(await match('  ip: { cidr: 2001:db8::/32 }', { ip: '2001:db8:1::5' })).toBe(true);
    expect(inCidr('::ffff:10.0.0.1', parseCidr('10.0.0.0/8')!)).toBe(true);
    expect(await match('  ip: { cidr: 10.0.0.0/8 }', { ip: 'not an ip' })).toBe(false);
  });

  it('exists, numeric comparisons, not / any / all', async () => {
    expect(await match('  a: { exists: true }', { a: 0 })).toBe(true);
    expect(await match('  a: { exists: false }', { b: 1 })).toBe(true);
    expect(await match("  t: { '>': 2.5 }", { t: 3 })).toBe(true);
    expect(await match("  t: { '>=': 3, '<': 4 }", { t: 3 })).toBe(true);
    expect(await match('  t: { lte: 2 }', { t: 3 })).toBe(false);
    expect(await match('  not: { a: x }', { a: 'y' })).toBe(true);
    expect(await match('  any: [{ a: x }, { b: y }]', { b: 'y' })).toBe(true);
    expect(await match('  all: [{ a: x }, { b: y }]', { b: 'y' })).toBe(false);
  });

  it('a string where a number is expected: no match, no crash', async () => {
    expect(
      await match("  aws.elb.backend_processing_time: { '>': 2.5 }", {
        aws: { elb: { backend_processing_time: '9.9' } },
      }),
    ).toBe(false);
    expect(await match("  t: { '>': 2.5 }", { t: { nested: 1 } })).toBe(false);
    expect(await match("  t: { '>': 2.5 }", { t: null })).toBe(false);
    expect(await match('  t: { contains: x }', { t: 42 })).toBe(false);
  });

  it('fields inside arrays: any element matches', async () => {
    const doc = { p: { items: [{ r: { items: [{ cidr: '10.0.0.0/8' }, { cidr: '0.0.0.0/0' }] } }] } };
    expect(await match("  p.items.r.items.cidr: '0.0.0.0/0'", doc)).toBe(true);
    expect(await match("  p.items.r.items.cidr: '1.0.0.0/0'", doc)).toBe(false);
    expect(await match('  tags: b', { tags: ['a', 'b'] })).toBe(true);
  });

  it('params fill $name values and can be overridden', async () => {
    const text = head("  t: { '>': $max }", 'params: { max: 2 }\n');
    expect((await alertsFor(text, [ev({ t: 3 })])).length).toBe(1);
    const over = parseRule(text, 'p.yaml', { overrides: { t1: { params: { max: 5 } } } }).rule;
    const engine = new RuleEngine([over], { store: new MemoryWindowStore(), log: memoryLogger() });
    expect(await engine.evaluate([ev({ t: 3 })])).toEqual([]);
  });
});

describe('windows, dedup and throttle', () => {
  const denials = `id: denials
title: Denials
severity: medium
dataset: duo.authentication
condition: { event.outcome: failure }
aggregate: { function: count, group_by: [user.name], window: 10m, threshold: 20 }
dedup: { fields: [user.name], throttle: 1h }
`;
  const t0 = Date.parse('2026-01-05T10:00:00Z');
  const denied = (user: string, i: number, step = 10_000) =>
    ev({ event: { outcome: 'failure' }, user: { name: user } }, 'duo.authentication', t0 + i * step);

  it('alerts once at the 20th denial in 10 minutes, with the count, and counts suppressed repeats', async () => {
    const engine = new RuleEngine([rule(denials)], { store: new MemoryWindowStore(), log: memoryLogger() });
    const first = await engine.evaluate(Array.from({ length: 19 }, (_, i) => denied('bob', i)));
    expect(first).toEqual([]);
    const second = await engine.evaluate(Array.from({ length: 11 }, (_, i) => denied('bob', 19 + i)));
    expect(second).toHaveLength(1);
    expect(second[0]!.aggregate).toMatchObject({
      function: 'count',
      value: 20,
      threshold: 20,
      group: { 'user.name': 'bob' },
    });
    expect(second[0]!.summary).toBe('Denials by bob (count 20 in 10m, threshold >= 20)');
    // After the throttle hour, the next alert reports the 10 repeats it suppressed.
    const later = await engine.evaluate(Array.from({ length: 20 }, (_, i) => denied('bob', 400 + i)));
    expect(later).toHaveLength(1);
    expect(later[0]!.suppressed).toBe(10);
  });

  it('keeps groups apart and lets old events fall out of the window', async () => {
    const engine = new RuleEngine([rule(denials)], { store: new MemoryWindowStore(), log: memoryLogger() });
    const mixed = Array.from({ length: 38 }, (_, i) => denied(i % 2 ? 'a' : 'b', i));
    expect(await engine.evaluate(mixed)).toEqual([]);
    const slow = Array.from({ length: 25 }, (_, i) => denied('c', i, 60_000));
    expect(await engine.evaluate(slow)).toEqual([]);
  });

  it('a late event makes an older bucket; later events still drop buckets oldest first', () => {
    const store = new MemoryWindowStore();
    const add = (ts: number) => store.addNow({ key: 'k', ts, windowMs: 60_000, count: 1, sum: 0 });
    expect(add(100_000).count).toBe(1);
    expect(add(101_000).count).toBe(2);
    // Late: counted in the group, judged on its own window (only itself is at or before it).
    expect(add(50_000).count).toBe(1);
    expect(add(102_000).count).toBe(4);
    // Buckets are 3 s wide: 60 s on, the late bucket and the one of 100–101 s have left the window.
    expect(add(162_500).count).toBe(2);
    expect(add(200_000).count).toBe(2);
  });

  it('sum and distinct_count', async () => {
    const sum = `id: bytes\ntitle: Bytes\nseverity: low\ndataset: test.ds\ncondition: { b: { exists: true } }\naggregate: { function: sum, field: b, window: 1m, threshold: 100 }\n`;
    expect(await alertsFor(sum, [ev({ b: 60 }), ev({ b: 'x' }), ev({ b: 50 })])).toHaveLength(1);
    const dc = `id: ips\ntitle: IPs\nseverity: low\ndataset: test.ds\ncondition: { u: { exists: true } }\naggregate: { function: distinct_count, field: ip, group_by: [u], window: 1m, threshold: 3 }\n`;
    expect(
      await alertsFor(dc, [ev({ u: 1, ip: 'a' }), ev({ u: 1, ip: 'a' }), ev({ u: 1, ip: 'b' })]),
    ).toEqual([]);
    expect(
      await alertsFor(dc, [ev({ u: 1, ip: 'a' }), ev({ u: 1, ip: 'b' }), ev({ u: 1, ip: 'c' })]),
    ).toHaveLength(1);
  });

  it('window state survives a daemon restart through the state store', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'win-'));
    try {
      const s1 = new MemoryWindowStore(new FileStateStore(dir));
      const e1 = new RuleEngine([rule(denials)], { store: s1, log: memoryLogger() });
      expect(await e1.evaluate(Array.from({ length: 15 }, (_, i) => denied('bob', i)))).toEqual([]);
      await e1.close();
      const s2 = new MemoryWindowStore(new FileStateStore(dir));
      await s2.load();
      const e2 = new RuleEngine([rule(denials)], { store: s2, log: memoryLogger() });
      expect(await e2.evaluate(Array.from({ length: 5 }, (_, i) => denied('bob', 15 + i)))).toHaveLength(1);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});

describe('window store failures', () => {
  it('a store that is down skips windowed rules (logged) but stateless rules still alert', async () => {
    const broken: WindowStore = {
      add: async () => {
        throw new Error('ProvisionedThroughputExceededException');
      },
      firstSeen: async () => {
        throw new Error('down');
      },
      claim: async () => {
        throw new Error('down');
      },
      flush: async () => {},
    };
    const log = memoryLogger();
    const windowed = rule(
      'id: w\ntitle: W\nseverity: low\ndataset: test.ds\ncondition: { a: x }\naggregate: { function: count, window: 1m, threshold: 1 }\n',
    );
    const plain = rule(
      'id: p\ntitle: P\nseverity: low\ndataset: test.ds\ncondition: { a: x }\ndedup: { throttle: 1h }\n',
    );
    const engine = new RuleEngine([windowed, plain], { store: broken, log });
    const alerts = await engine.evaluate([ev({ a: 'x' })]);
    expect(alerts.map((a) => a.rule.id)).toEqual(['p']);
    expect(log.entries.map((e) => e.msg)).toEqual([
      'rules: window update failed; windowed rules skipped this chunk: Error: ProvisionedThroughputExceededException',
      'rules: throttle failed; windowed rules skipped this chunk: Error: down',
    ]);
  });
});

describe('rule examples', () => {
  it('every shipped rule passes its own examples (rules/)', async () => {
    const { rules, warnings } = await loadRules(['rules']);
    expect(warnings).toEqual([]);
    expect(rules.length).toBeGreaterThanOrEqual(13);
    const report = await testRules(rules);
    expect(report.failures).toEqual([]);
  });

  it('reports an example that does not behave as it says', async () => {
    const r = rule(
      `${head('  a: x')}examples:\n  match:\n    - event: { a: y }\n  no_match:\n    - event: { a: x }\n`,
      'ex.yaml',
    );
    const report = await testRules([r]);
    expect(report.failures).toEqual([
      { rule: 't1', where: 'ex.yaml:9', message: 'match example raised no alert' },
      { rule: 't1', where: 'ex.yaml:11', message: 'no_match example raised an alert: Test' },
    ]);
  });
});

afterEach(() => {
  n = 0;
});
