import { describe, expect, it } from 'vitest';
import type { LogEvent } from '../core/event.js';
import { rng } from '../demo/cwlogs.js';
import { memoryLogger } from '../platform/log.js';
import { compileCondition } from './compile.js';
import { RuleEngine } from './engine.js';
import { parseRule } from './load.js';
import { planFor } from './rule-index.js';
import type { Alert, Rule } from './types.js';
import { MemoryWindowStore } from './window.js';

const DS = 'aws.cloudtrail';
const head = (id: string, extra = '') => `id: ${id}\ntitle: ${id}\nseverity: low\ndataset: ${DS}\n${extra}`;
const ct = 'aws.cloudtrail';

// Every shape the index treats differently: exact and case-folded equalities, lists, `any`
// branches that share a field and ones that do not, `not`, wildcards (plain and escaped),
// numbers and booleans read as text, nested `all`, windows, other datasets, Sigma's defaults.
const RULES: string[] = [
  `${head('exact-pair')}condition:\n  all:\n    - ${ct}.eventSource: iam.amazonaws.com\n    - ${ct}.eventName: [CreateAccessKey, AttachUserPolicy]\n    - ${ct}.errorCode: { exists: false }\n`,
  `${head('folded-list')}condition:\n  ${ct}.eventName: { in: [StopLogging, DeleteTrail], ignore_case: true }\n`,
  `${head('exact-one')}condition:\n  ${ct}.eventName: StopLogging\n`,
  `${head('folded-one')}condition:\n  ${ct}.eventName: { equals: stoplogging, ignore_case: true }\n`,
  `${head('any-same-field')}condition:\n  any:\n    - all: [{ ${ct}.eventSource: iam.amazonaws.com }, { ${ct}.eventName: CreateAccessKey }]\n    - ${ct}.eventName: [ConsoleLogin, GetObject]\n`,
  `${head('any-other-fields')}condition:\n  any:\n    - ${ct}.eventName: ConsoleLogin\n    - ${ct}.errorCode: AccessDenied\n`,
  `${head('any-mixed-case')}condition:\n  any:\n    - ${ct}.eventName: DeleteTrail\n    - ${ct}.eventName: { equals: consolelogin, ignore_case: true }\n`,
  `${head('negated')}condition:\n  all:\n    - ${ct}.eventSource: cloudtrail.amazonaws.com\n    - not: { ${ct}.eventName: StopLogging }\n`,
  `${head('only-not')}condition:\n  not: { ${ct}.eventName: [StopLogging, GetObject, ConsoleLogin] }\n`,
  `${head('wildcard')}condition:\n  ${ct}.eventName: 'Get*'\n`,
  `${head('escaped-star')}condition:\n  ${ct}.eventName: 'a\\*b'\n`,
  `${head('list-with-wildcard')}condition:\n  ${ct}.eventName: [StopLogging, 'Delete*']\n`,
  `${head('bool-as-text')}condition:\n  ${ct}.readOnly: { equals: 'true', ignore_case: true }\n`,
  `${head('number-as-text')}condition:\n  all:\n    - ${ct}.count: { equals: '5', ignore_case: true }\n    - ${ct}.eventName: { exists: true }\n`,
  `${head('number-exact')}condition:\n  ${ct}.count: 5\n`,
  `${head('nested-all')}condition:\n  all:\n    - all: [{ ${ct}.eventSource: ec2.amazonaws.com }, { ${ct}.eventName: RunInstances }]\n    - ${ct}.userIdentity.type: [Root, IAMUser]\n`,
  `${head('root')}condition:\n  all:\n    - ${ct}.userIdentity.type: Root\n    - not: { ${ct}.userIdentity.invokedBy: { exists: true } }\n`,
  `${head('absent')}condition:\n  ${ct}.errorCode: { exists: false }\n`,
  `${head('tags')}condition:\n  all: [{ tags: b }, { ${ct}.eventName: { startswith: Get } }]\n`,
  `${head('regex-keyed')}condition:\n  all:\n    - ${ct}.eventName: [ConsoleLogin, StopLogging]\n    - ${ct}.userAgent: { regex: '^(aws-cli|Boto3)/' }\n`,
  `${head('windowed', 'aggregate: { function: count, group_by: [user.name], window: 1m, threshold: 3 }\n')}condition:\n  ${ct}.eventName: [CreateAccessKey, StopLogging]\n`,
  `${head('distinct', 'aggregate: { function: distinct_count, field: ${ct}.eventName, group_by: [source.ip], window: 1m, threshold: 3 }\n')}condition:\n  ${ct}.errorCode: AccessDenied\n`.replace(
    '${ct}',
    ct,
  ),
  `id: any-dataset\ntitle: any\nseverity: low\ndataset: '*'\ncondition:\n  ${ct}.eventName: { in: [ConsoleLogin], ignore_case: true }\n`,
  `id: other-dataset\ntitle: other\nseverity: low\ndataset: aws.other\ncondition:\n  ${ct}.eventName: ConsoleLogin\n`,
  `title: Sigma CloudTrail change
id: 4db60cc0-36fb-42b7-9b58-a5b53019fb74
logsource: { product: aws, service: cloudtrail }
detection:
  selection:
    eventSource: cloudtrail.amazonaws.com
    eventName: [StopLogging, UpdateTrail, DeleteTrail]
  filter:
    userIdentity.type: root
  condition: selection and not filter
level: medium
`,
  `title: Sigma wildcard and null
id: 5db60cc0-36fb-42b7-9b58-a5b53019fb74
logsource: { product: aws, service: cloudtrail }
detection:
  selection:
    eventName: ['Get*', 'consolelogin']
    errorCode: null
  condition: selection
level: low
`,
];

const rules: Rule[] = RULES.map((t, i) => parseRule(t, `r${i}.yaml`).rule);

// Values chosen to hit and miss each rule: other cases, lists, numbers, booleans, null, absent.
const POOL: Record<string, unknown[]> = {
  eventSource: [
    'iam.amazonaws.com',
    'cloudtrail.amazonaws.com',
    'CloudTrail.amazonaws.com',
    'ec2.amazonaws.com',
    undefined,
    null,
    ['iam.amazonaws.com', 'ec2.amazonaws.com'],
  ],
  eventName: [
    'StopLogging',
    'stoplogging',
    'STOPLOGGING',
    'DeleteTrail',
    'CreateAccessKey',
    'createaccesskey',
    'AttachUserPolicy',
    'ConsoleLogin',
    'CONSOLELOGIN',
    'GetObject',
    'RunInstances',
    'a*b',
    'axb',
    'Get*',
    '',
    undefined,
    null,
    42,
    true,
    ['StopLogging', 'ConsoleLogin'],
    ['x', 'CreateAccessKey', 'createaccesskey'],
    [['StopLogging']],
    { nested: 'StopLogging' },
  ],
  errorCode: ['AccessDenied', 'accessdenied', undefined, undefined, null],
  readOnly: [true, false, 'true', 'TRUE', 'yes', undefined],
  count: [5, '5', 0, -0, 5.5, undefined, null],
  userAgent: ['aws-cli/2.13.5 Python/3.11.4', 'Boto3/1.34.0', 'console.amazonaws.com', undefined],
  type: ['Root', 'root', 'IAMUser', ['Root'], undefined],
  invokedBy: [undefined, undefined, 'ec2.amazonaws.com'],
  tags: [['a', 'b'], 'b', ['a'], undefined],
  user: ['alice', 'bob'],
  ip: ['198.51.100.1', '198.51.100.2'],
};

function events(count: number, seed: number): LogEvent[] {
  const r = rng(seed);
  const pick = (k: string) => {
    const pool = POOL[k]!;
    return pool[Math.floor(r() * pool.length)];
  };
  return Array.from({ length: count }, (_, i) => {
    const rec: Record<string, unknown> = {};
    for (const k of ['eventSource', 'eventName', 'errorCode', 'readOnly', 'count', 'userAgent']) {
      const v = pick(k);
      if (v !== undefined) rec[k] = v;
    }
    const type = pick('type');
    const invokedBy = pick('invokedBy');
    if (type !== undefined || invokedBy !== undefined)
      rec.userIdentity = { ...(type !== undefined ? { type } : {}), ...(invokedBy ? { invokedBy } : {}) };
    const ts = 1_764_000_000_000 + i * 1000;
    const tags = pick('tags');
    return {
      id: `e${seed}-${i}`,
      dataset: r() < 0.9 ? DS : 'aws.other',
      timestamp: ts,
      doc: {
        '@timestamp': new Date(ts).toISOString(),
        aws: { cloudtrail: rec },
        user: { name: pick('user') },
        source: { ip: pick('ip') },
        ...(tags !== undefined ? { tags } : {}),
      },
      origin: { source: 's', type: 't', ref: `ref ${i}` },
    };
  });
}

async function alerts(index: boolean, evs: LogEvent[]): Promise<Alert[]> {
  const engine = new RuleEngine(rules, { store: new MemoryWindowStore(), log: memoryLogger(), index });
  const out: Alert[] = [];
  for (let i = 0; i < evs.length; i += 250) out.push(...(await engine.evaluate(evs.slice(i, i + 250))));
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

describe('rule index', () => {
  it('gives the same alerts as trying every rule on every event', async () => {
    const evs = events(2000, 7);
    const indexed = await alerts(true, evs);
    const everyRule = await alerts(false, evs);
    expect(indexed).toEqual(everyRule);
    // Not vacuous: every rule fires on some events and stays quiet on others.
    const fired = new Set(everyRule.map((a) => a.rule.id));
    expect([...fired].sort()).toEqual(rules.map((r) => r.id).sort());
    for (const r of rules)
      expect(everyRule.filter((a) => a.rule.id === r.id).length).toBeLessThan(evs.length);
  });

  it('raises the same alerts seeing events one at a time (Detector.start) as seeing chunks', async () => {
    const evs = events(2000, 9);
    const raised = async (oneAtATime: boolean) => {
      const out: Alert[] = [];
      const engine = new RuleEngine(rules, {
        store: new MemoryWindowStore(),
        log: memoryLogger(),
        deliver: async (a) => {
          out.push(...a);
        },
      });
      const seen = engine.start();
      for (let i = 0; i < evs.length; i += 250) {
        const chunk = evs.slice(i, i + 250);
        if (!oneAtATime) await engine.inspect(chunk);
        else {
          for (const ev of chunk) seen.see(ev);
          await seen.inspect();
        }
      }
      return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    };
    const byChunk = await raised(false);
    expect(byChunk.filter((a) => a.aggregate).length).toBeGreaterThan(0);
    expect(await raised(true)).toEqual(byChunk);
  });

  it('each alert of the index is one the whole condition confirms', async () => {
    const evs = events(1000, 8);
    const byId = new Map(evs.map((e) => [e.id, e]));
    for (const a of await alerts(true, evs)) {
      if (a.aggregate) continue;
      const rule = rules.find((r) => r.id === a.rule.id)!;
      expect(compileCondition(rule.condition)(byId.get(a.event_id)!.doc)).toBe(true);
    }
  });

  it('files rules under the required field with the most distinct values, folding ignore_case', () => {
    const compiled = rules.map((rule) => ({ rule, match: compileCondition(rule.condition) }));
    const plan = planFor(compiled, DS, true);
    const where = new Map<string, string>();
    for (const ix of plan.indexed) {
      for (const list of [...ix.exact.values(), ...ix.folded.values()])
        for (const cand of list) where.set(cand.c.rule.id, ix.field);
    }
    expect(where.get('exact-pair')).toBe(`${ct}.eventName`);
    expect(where.get('folded-list')).toBe(`${ct}.eventName`);
    expect(where.get('any-same-field')).toBe(`${ct}.eventName`);
    expect(where.get('sigma.4db60cc0-36fb-42b7-9b58-a5b53019fb74')).toBe(`${ct}.eventName`);
    expect(where.get('bool-as-text')).toBe(`${ct}.readOnly`);
    expect(where.get('root')).toBe(`${ct}.userIdentity.type`);
    for (const id of [
      'any-other-fields',
      'only-not',
      'wildcard',
      'list-with-wildcard',
      'absent',
      'number-exact',
    ])
      expect(where.has(id)).toBe(false);
    expect(where.has('other-dataset')).toBe(false);
    const eventName = plan.indexed.find((ix) => ix.field === `${ct}.eventName`)!;
    expect(eventName.lookup('STOPLOGGING')!.map((cand) => cand.c.rule.id)).toEqual([
      'folded-list',
      'folded-one',
      'sigma.4db60cc0-36fb-42b7-9b58-a5b53019fb74',
    ]);
    expect(eventName.lookup('StopLogging')!.map((cand) => cand.c.rule.id)).toEqual([
      'folded-list',
      'exact-one',
      'folded-one',
      'regex-keyed',
      'windowed',
      'sigma.4db60cc0-36fb-42b7-9b58-a5b53019fb74',
    ]);
  });
});
