import { describe, expect, it } from 'vitest';
import type { LogEvent } from '../core/event.js';
import { finalizeEvent } from '../core/pipeline.js';
import { gzipJson } from '../demo/cwlogs.js';
import { memoryLogger } from '../platform/log.js';
import { parsers } from '../registry.js';
import { RuleEngine } from '../rules/engine.js';
import { loadRules } from '../rules/load.js';
import { MemoryWindowStore } from '../rules/window.js';
import { runParser } from '../testing/parse-harness.js';
import { createTransform, transformSchema } from './index.js';

/** uwsgi's request log line, as its default logformat writes it. */
const uwsgi = (path: string, ms: number, bytes = 7) =>
  `[pid: 3079|app: 0|req: 1/2] 10.20.3.41 () {34 vars in 561 bytes} [Mon Jan  5 09:00:00 2026] GET ${path} => generated ${bytes} bytes in ${ms} msecs (HTTP/1.1 200) 2 headers in 79 bytes (1 switches on core 0)`;

/** A central-logging record: a CloudWatch Logs subscription message, gzipped, as Kinesis carries it. */
function centralLoggingRecord(logGroup: string, lines: string[], start = Date.parse('2026-01-05T09:00:00Z')) {
  return gzipJson({
    messageType: 'DATA_MESSAGE',
    owner: '123456789012',
    logGroup,
    logStream: 'api/uwsgi/4f1c2b7e9d0a4c3b8e5f6a7b8c9d0e1f',
    subscriptionFilters: ['central-logging'],
    logEvents: lines.map((message, i) => ({
      id: `${37_000_000_000_000_000_000_000_000_000_000_000_000_000_000n + BigInt(i)}`,
      timestamp: start + i * 30_000,
      message,
    })),
  });
}

async function parsed(logGroup: string, lines: string[]): Promise<LogEvent[]> {
  const parser = (await parsers.cloudwatch_logs!()).create({});
  const origin = { source: 'central', type: 'kinesis', ref: 'shard-0/1' };
  const { drafts, rejected } = await runParser(parser, {
    ackId: 'r1',
    origin,
    body: { kind: 'bytes', bytes: centralLoggingRecord(logGroup, lines) },
  });
  expect(rejected).toEqual([]);
  return drafts.map((d) => finalizeEvent(d, origin));
}

const UWSGI_REGEX = String.raw`^\[pid: \d+\|app: \d+\|req: \d+/\d+\] (?P<ip>\S+) .*?\] (?P<method>[A-Z]+) (?P<path>\S+) => generated (?P<bytes>\d+) bytes in (?P<ms>\d+) msecs \(HTTP/[\d.]+ (?P<status>\d+)\)`;
const UWSGI_FIELDS = {
  ip: { field: 'source.ip', type: 'ip' },
  method: { field: 'http.request.method' },
  path: { field: 'url.path' },
  bytes: { field: 'http.response.bytes', type: 'int' },
  ms: [
    { field: 'http.response.time_ms', type: 'int' },
    { field: 'event.duration', type: 'int', scale: 1_000_000 },
  ],
  status: { field: 'http.response.status_code', type: 'int' },
};
const t = (cfg: unknown) => createTransform(transformSchema.parse(cfg));

describe('parse transform', () => {
  it("turns uwsgi's 'generated 7 bytes in 4 msecs' in a central-logging record into typed ECS fields", async () => {
    const [e] = await parsed('/ecs/api-uwsgi', [uwsgi('/health', 4)]);
    const out = t({ type: 'parse', regex: UWSGI_REGEX, fields: UWSGI_FIELDS })(e!)!;
    expect(out.doc).toMatchObject({
      source: { ip: '10.20.3.41' },
      url: { path: '/health' },
      http: { request: { method: 'GET' }, response: { bytes: 7, time_ms: 4, status_code: 200 } },
      event: { duration: 4_000_000 },
      aws: { cloudwatch: { log_group: '/ecs/api-uwsgi' } },
    });
  });

  it('reads the same fields with a dissect pattern', async () => {
    const [e] = await parsed('/ecs/api-uwsgi', [uwsgi('/api/report', 1834, 512)]);
    const out = t({
      type: 'parse',
      dissect: '[%{}] %{ip} () {%{}} [%{}] %{method} %{path} => generated %{bytes} bytes in %{ms} msecs (%{}',
      fields: {
        ip: { field: 'source.ip', type: 'ip' },
        path: { field: 'url.path' },
        bytes: { field: 'http.response.bytes', type: 'int' },
        ms: { field: 'http.response.time_ms', type: 'float' },
      },
    })(e!)!;
    expect(out.doc).toMatchObject({
      source: { ip: '10.20.3.41' },
      url: { path: '/api/report' },
      http: { response: { bytes: 512, time_ms: 1834 } },
    });
  });

  it('leaves a line the pattern does not match as it is, and tags a value that is not of its type', async () => {
    const [other, odd] = await parsed('/ecs/api-uwsgi', ['worker 3 respawned', uwsgi('/x', 4)]);
    const before = structuredClone(other!.doc);
    expect(t({ type: 'parse', regex: UWSGI_REGEX, fields: UWSGI_FIELDS })(other!)!.doc).toEqual(before);
    const out = t({
      type: 'parse',
      regex: UWSGI_REGEX,
      fields: { path: { field: 'source.ip', type: 'ip' } },
    })(odd!)!;
    expect(out.doc.source).toBeUndefined();
    expect(out.doc.tags).toEqual(['parse_type_mismatch']);
  });

  it('refuses configs that cannot work, naming the problem', () => {
    const issues = (cfg: unknown) =>
      transformSchema.safeParse(cfg).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    expect(issues({ type: 'parse', regex: '(?P<a>x)', dissect: '%{a}', fields: {} })).toEqual([
      'regex: give exactly one of `regex` or `dissect`',
    ]);
    expect(issues({ type: 'parse', regex: '(?P<a>x)', fields: { b: { field: 'x.y' } } })).toEqual([
      "fields.b: the pattern has no group 'b' (it has: a)",
    ]);
    expect(issues({ type: 'parse', regex: '(?P<a>x', fields: {} })[0]).toMatch(/^regex: cannot compile: /);
    expect(issues({ type: 'parse', dissect: '%{a}%{b}', fields: {} })[0]).toMatch(
      /^dissect: cannot compile: two keys/,
    );
  });

  it('runs a pattern that backtracks exponentially on V8 in linear time (RE2)', async () => {
    const [e] = await parsed('/ecs/api-uwsgi', [`${'a'.repeat(5000)}!`]);
    const out = t({ type: 'parse', regex: '^(?P<x>(a+)+)$', fields: { x: { field: 'y' } } })(e!)!;
    expect(out.doc.y).toBeUndefined();
  });
});

describe('shipped slow-response rule on parsed uwsgi lines', () => {
  async function alerts(overrides: Record<string, unknown>, groups: string[]) {
    const { rules, warnings } = await loadRules(['rules/app'], {
      overrides: { 'app-slow-responses': { params: overrides } },
    });
    expect(warnings).toEqual([]);
    const parse = t({ type: 'parse', regex: UWSGI_REGEX, fields: UWSGI_FIELDS });
    const events: LogEvent[] = [];
    for (const g of groups)
      events.push(
        ...(
          await parsed(
            g,
            Array.from({ length: 5 }, () => uwsgi('/api/report', 1834)),
          )
        ).map((e) => parse(e)!),
      );
    const engine = new RuleEngine(rules, { store: new MemoryWindowStore(), log: memoryLogger() });
    return (await engine.evaluate(events)).map((a) => a.who);
  }

  it('alerts on five slow answers of one log group in five minutes', async () => {
    expect(await alerts({}, ['/ecs/api-uwsgi'])).toHaveLength(1);
  });

  it('holds log groups listed in relaxed_log_groups to their own threshold', async () => {
    const who = await alerts({ relaxed_log_groups: ['/ecs/batch-*'], relaxed_max_ms: 5000 }, [
      '/ecs/api-uwsgi',
      '/ecs/batch-reports',
    ]);
    expect(who).toHaveLength(1);
    expect(JSON.stringify(who)).toContain('/ecs/api-uwsgi');
    expect(await alerts({ max_ms: 2000 }, ['/ecs/api-uwsgi'])).toEqual([]);
  });
});
