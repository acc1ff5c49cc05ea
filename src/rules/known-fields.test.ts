import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RawItem } from '../core/batch.js';
import type { ParseContext } from '../core/component.js';
import { defaultLimits } from '../core/limits.js';
import { rng } from '../demo/cwlogs.js';
import { adminEvent, authEvent } from '../demo/duo-events.js';
import { parsers } from '../registry.js';
import { isKnownField } from './known-fields.js';

const root = join(import.meta.dirname, '../..');

/** Every leaf path of a document (arrays are looked through, as rules do). */
function paths(v: unknown, p = '', out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) for (const x of v) paths(x, p, out);
  else if (v !== null && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) paths(x, p ? `${p}.${k}` : k, out);
  // Absent values (undefined, null) are not fields a rule could match.
  else if (v !== undefined && v !== null) out.add(p);
  return out;
}

async function fieldsOf(parser: string, body: RawItem['body']): Promise<Map<string, Set<string>>> {
  const p = (await parsers[parser]!()).create({});
  const ctx: ParseContext = { limits: defaultLimits, reject: async () => {} };
  const out = new Map<string, Set<string>>();
  for await (const d of p.parse(
    { ackId: 'x', origin: { source: 't', type: 'file', ref: 'fixture' }, body },
    ctx,
  )) {
    const set = out.get(d.dataset) ?? new Set();
    paths(d.doc, '', set);
    out.set(d.dataset, set);
  }
  return out;
}

const file = (rel: string): RawItem['body'] => ({ kind: 'bytes', bytes: readFileSync(join(root, rel)) });

describe('known fields per dataset match what the parsers emit', () => {
  it.each([
    ['cloudtrail', file('src/parsers/cloudtrail/fixtures/aws-docs.json')],
    ['alb', file('src/parsers/alb/fixtures/aws-docs.log')],
    ['elb_classic', file('src/parsers/elb_classic/fixtures/aws-docs.log')],
    ['duo_auth', { kind: 'object', value: authEvent(1, Date.parse('2026-01-05T10:00:00Z'), rng(3)) }],
    ['duo_admin', { kind: 'object', value: adminEvent(2, Date.parse('2026-01-05T10:00:00Z'), rng(4)) }],
  ] as [string, RawItem['body']][])('%s fixtures', async (parser, body) => {
    const byDataset = await fieldsOf(parser, body);
    expect(byDataset.size).toBeGreaterThan(0);
    for (const [dataset, fields] of byDataset) {
      // A field listed here is one a rule may test without a warning; add new parser fields to known-fields.ts.
      const unknown = [...fields].filter((f) => !isKnownField(dataset, f) && f !== '@timestamp');
      expect({ dataset, unknown }).toEqual({ dataset, unknown: [] });
    }
  });

  it('unknown datasets are not checked; known ones catch typos', () => {
    expect(isKnownField('my.app', 'anything.at.all')).toBe(true);
    expect(isKnownField('aws.cloudtrail', 'aws.cloudtrail.eventSource')).toBe(true);
    expect(isKnownField('aws.cloudtrail', 'aws.cloudtrail.requestParameters.anything')).toBe(true);
    expect(isKnownField('aws.cloudtrail', 'aws.cloudtrail.event_source')).toBe(false);
    expect(isKnownField('aws.elb', 'aws.elb.backend_processing_time')).toBe(true);
    expect(isKnownField('duo.authentication', 'duo.result')).toBe(true);
  });
});
