import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { writeHint } from '../config/issues.js';
import { ConfigError } from '../core/errors.js';
import { conditionFields, parseCondition, RuleIssue, type YamlPath } from './condition.js';
import { isKnownField } from './known-fields.js';
import { type RuleFile, ruleFileSchema } from './schema.js';
import { isSigma, sigmaToRuleFile } from './sigma.js';
import type { Aggregate, Rule, RuleExample } from './types.js';
import { parseYaml, YamlSyntaxError } from './yaml.js';

export interface RuleOverride {
  enabled?: boolean;
  severity?: Rule['severity'];
  params?: Record<string, unknown>;
}

export interface LoadOptions {
  overrides?: Record<string, RuleOverride>;
}

export interface LoadedRules {
  rules: Rule[];
  /** `file:line: …` lines about rules that load but look wrong (unknown fields). */
  warnings: string[];
}

/** Every problem found while loading, one `file:line: what` line each. */
export class RuleLoadError extends ConfigError {
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? problems[0]! : `${problems.length} rule problems: ${problems.join('; ')}`);
  }
}

const DEFAULT_WHO = ['user.name', 'aws.cloudtrail.user_identity.arn', 'user.id'];
const DEFAULT_WHERE = ['source.ip', 'cloud.account.id', 'cloud.region', 'aws.elb.name', 'host.hostname'];

/** Rule files under the given files and folders (recursively: *.yaml, *.yml), sorted by path. */
export async function ruleFiles(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (p: string) => {
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(p);
    } catch (e) {
      throw new ConfigError(
        `${p}: cannot read rules (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      );
    }
    if (st.isDirectory()) {
      for (const name of (await readdir(p)).sort()) {
        if (name.startsWith('.')) continue;
        const full = join(p, name);
        if ((await stat(full)).isDirectory() || /\.ya?ml$/.test(name)) await walk(full);
      }
    } else out.push(p);
  };
  for (const p of paths) await walk(p);
  return out;
}

/** Loads every rule; throws RuleLoadError listing every bad file. Duplicate ids are an error. */
export async function loadRules(paths: string[], opts: LoadOptions = {}): Promise<LoadedRules> {
  const files = await ruleFiles(paths);
  const rules: Rule[] = [];
  const warnings: string[] = [];
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const f of files) {
    try {
      const r = parseRule(await readFile(f, 'utf8'), f, opts);
      warnings.push(...r.warnings);
      const prev = seen.get(r.rule.id);
      if (prev) {
        problems.push(`${r.rule.file}: rule id '${r.rule.id}' is also used by ${prev}`);
        continue;
      }
      seen.set(r.rule.id, r.rule.file);
      if (r.enabled) rules.push(r.rule);
    } catch (e) {
      if (e instanceof RuleLoadError) problems.push(...e.problems);
      else throw e;
    }
  }
  for (const id of Object.keys(opts.overrides ?? {}))
    if (!seen.has(id)) warnings.push(`rules config: override for '${id}', which no rule file defines`);
  if (problems.length > 0) throw new RuleLoadError(problems);
  return { rules, warnings };
}

/** Parses one rule file (logferry format, or a Sigma rule for aws/cloudtrail). */
export function parseRule(
  text: string,
  file: string,
  opts: LoadOptions = {},
): { rule: Rule; warnings: string[]; enabled: boolean } {
  let y: ReturnType<typeof parseYaml>;
  try {
    y = parseYaml(text, file);
  } catch (e) {
    if (e instanceof YamlSyntaxError) throw new RuleLoadError([e.message]);
    throw e;
  }
  const at = (path: YamlPath, msg: string) => `${file}:${y.lineOf(path)}: ${msg}`;
  const raw = y.value;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new RuleLoadError([`${file}:1: a rule file holds one YAML mapping`]);
  let body: unknown = raw;
  let format: Rule['format'] = 'logferry';
  // Sigma rules are translated first; their paths still point into the original file.
  if (isSigma(raw)) {
    try {
      body = sigmaToRuleFile(raw as Record<string, unknown>);
      format = 'sigma';
    } catch (e) {
      if (e instanceof RuleIssue) throw new RuleLoadError([at(e.path, e.message)]);
      throw e;
    }
  }
  const parsed = ruleFileSchema.safeParse(body, { error: writeHint });
  if (!parsed.success) throw new RuleLoadError(parsed.error.issues.slice(0, 5).map((i) => issueLine(i, at)));
  const rf = parsed.data;
  const ov = opts.overrides?.[rf.id] ?? {};
  const params = { ...rf.params, ...(ov.params ?? {}) };
  try {
    const rule = buildRule(rf, file, format, params, ov, y.lineOf);
    const warnings: string[] = [];
    for (const ds of rule.datasets) {
      const tests = conditionFields(rule.condition);
      if (rule.aggregate?.where) conditionFields(rule.aggregate.where, tests);
      for (const t of tests)
        if (!isKnownField(ds, t.field))
          warnings.push(
            at(
              t.at,
              `field '${t.field}' never occurs in dataset '${ds}' (rule '${rule.id}' will not match on it)`,
            ),
          );
      for (const f of [
        ...(rule.aggregate?.group_by ?? []),
        ...(rule.aggregate?.field ? [rule.aggregate.field] : []),
      ])
        if (!isKnownField(ds, f))
          warnings.push(at(['aggregate'], `field '${f}' never occurs in dataset '${ds}'`));
    }
    return { rule, warnings, enabled: ov.enabled ?? rf.enabled };
  } catch (e) {
    if (e instanceof RuleIssue) throw new RuleLoadError([at(e.path, e.message)]);
    throw e;
  }
}

function issueLine(i: z.core.$ZodIssue, at: (p: YamlPath, m: string) => string): string {
  const path = i.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  const locate = i.code === 'unrecognized_keys' && i.keys[0] ? [...path, i.keys[0]] : path;
  const key = path.reduce<string>(
    (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${p}` : String(p)),
    '',
  );
  return at(locate, `${key || '(root)'}: ${i.message}`);
}

function buildRule(
  rf: RuleFile,
  file: string,
  format: Rule['format'],
  params: Record<string, unknown>,
  ov: RuleOverride,
  lineOf: (p: YamlPath) => number | string,
): Rule {
  if (rf.condition === undefined) throw new RuleIssue("the rule has no 'condition'", []);
  const condition = parseCondition(rf.condition, ['condition'], params);
  let aggregate: Aggregate | undefined;
  if (rf.aggregate) {
    const a = rf.aggregate;
    aggregate = {
      function: a.function,
      field: a.field,
      where: a.where === undefined ? undefined : parseCondition(a.where, ['aggregate', 'where'], params),
      group_by: a.group_by,
      window: a.window,
      compare: a.compare,
      threshold: numberParam(params, 'threshold', a.threshold),
      min_count: a.min_count,
    };
  }
  const examples = (kind: 'match' | 'no_match'): RuleExample[] =>
    rf.examples[kind].map((e, i) => ({ ...e, line: lineOf(['examples', kind, i]) }));
  return {
    id: rf.id,
    title: rf.title,
    description: rf.description,
    severity: ov.severity ?? rf.severity,
    tags: rf.tags,
    datasets: Array.isArray(rf.dataset) ? rf.dataset : [rf.dataset],
    condition,
    aggregate,
    dedup: {
      fields: rf.dedup?.fields ?? aggregate?.group_by ?? [],
      throttle: rf.dedup?.throttle ?? (aggregate ? aggregate.window : 0),
    },
    link: rf.link,
    who: rf.who ?? DEFAULT_WHO,
    where: rf.where ?? DEFAULT_WHERE,
    examples: { match: examples('match'), no_match: examples('no_match') },
    file: `${file}:${lineOf(['id'])}`,
    format,
  };
}

/** A `threshold` param (config override) wins over the written threshold. */
function numberParam(params: Record<string, unknown>, name: string, fallback: number): number {
  const v = params[name];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new RuleIssue(`param '${name}' must be a number, not ${JSON.stringify(v)}`, ['params', name]);
  return v;
}
