import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import type { ParseContext } from '../../core/component.js';
import { ConfigError, describeError } from '../../core/errors.js';
import type { LogEvent } from '../../core/event.js';
import { defaultLimits } from '../../core/limits.js';
import { finalizeEvent } from '../../core/pipeline.js';
import { memoryLogger } from '../../platform/log.js';
import { parsers } from '../../registry.js';
import { RuleEngine } from '../../rules/engine.js';
import { type ExampleReport, testRules } from '../../rules/examples.js';
import { loadRules, parseRule, RuleLoadError } from '../../rules/load.js';
import { MemoryWindowStore } from '../../rules/window.js';
import { EXIT, fail } from './exit.js';

type Print = (line: string) => void;

/** `logferry rules test [DIR…]`: loads the rules and runs every example. */
export async function rulesTest(
  paths: string[],
  out: Print,
  err: Print,
): Promise<{ code: number; report?: ExampleReport }> {
  let loaded: Awaited<ReturnType<typeof loadRules>>;
  try {
    loaded = await loadRules(paths);
  } catch (e) {
    if (e instanceof RuleLoadError) {
      for (const p of e.problems) err(p);
      return { code: EXIT.usage };
    }
    throw e;
  }
  for (const w of loaded.warnings) err(`warning: ${w}`);
  const report = await testRules(loaded.rules);
  const failed = new Set(report.failures.map((f) => f.rule));
  for (const r of loaded.rules) out(`${failed.has(r.id) ? 'FAIL' : 'ok  '} ${r.id}  (${r.file})`);
  for (const f of report.failures) err(`${f.where}: ${f.rule}: ${f.message}`);
  out(`${report.rules} rules, ${report.examples} examples, ${report.failures.length} failure(s)`);
  return { code: report.failures.length > 0 ? EXIT.failure : EXIT.ok, report };
}

/** `logferry rules check FILE…`: validates rule files, prints warnings. */
export async function rulesCheck(files: string[], out: Print, err: Print): Promise<number> {
  let bad = 0;
  for (const f of files) {
    try {
      const r = parseRule(await readFile(f, 'utf8'), f);
      for (const w of r.warnings) err(`warning: ${w}`);
      out(
        `ok ${r.rule.id} (${r.rule.format}, ${r.rule.examples.match.length + r.rule.examples.no_match.length} examples)`,
      );
    } catch (e) {
      bad++;
      if (e instanceof RuleLoadError) for (const p of e.problems) err(p);
      else err(`${f}: ${describeError(e)}`);
    }
  }
  return bad > 0 ? EXIT.usage : EXIT.ok;
}

/** `logferry rules run --input FILE`: parses a log file, runs the rules, prints alerts as NDJSON. */
export async function rulesRun(
  opts: { input: string; rules: string[]; parser?: string },
  out: Print,
  err: Print,
): Promise<number> {
  const loaded = await loadRules(opts.rules);
  for (const w of loaded.warnings) err(`warning: ${w}`);
  const parserName = opts.parser ?? ('aws_logs' in parsers ? 'aws_logs' : 'auto');
  const load = parsers[parserName];
  if (!load)
    throw new ConfigError(`unknown parser '${parserName}' (known: ${Object.keys(parsers).join(', ')})`);
  const parser = (await load()).create({});
  await stat(opts.input).catch((e) => {
    throw new ConfigError(`${opts.input}: cannot read (${(e as NodeJS.ErrnoException).code})`);
  });
  const engine = new RuleEngine(loaded.rules, { store: new MemoryWindowStore(), log: memoryLogger() });
  const origin = { source: 'cli', type: 'file', ref: opts.input, attrs: { key: opts.input } };
  let bad = 0;
  const ctx: ParseContext = {
    limits: defaultLimits,
    reject: async (part, e) => {
      bad++;
      err(`${opts.input} ${part.ref}: ${describeError(e)}`);
    },
  };
  let events = 0;
  let alerts = 0;
  const chunk: LogEvent[] = [];
  const flush = async () => {
    for (const a of await engine.evaluate(chunk.splice(0))) {
      alerts++;
      out(JSON.stringify(a));
    }
  };
  try {
    for await (const d of parser.parse(
      { ackId: opts.input, origin, body: { kind: 'stream', open: async () => createReadStream(opts.input) } },
      ctx,
    )) {
      chunk.push(finalizeEvent(d, origin));
      events++;
      if (chunk.length >= 2000) await flush();
    }
  } catch (e) {
    bad++;
    err(`${opts.input}: ${describeError(e)}`);
  }
  await flush();
  err(
    `${events} events, ${loaded.rules.length} rules, ${alerts} alert(s)${bad ? `, ${bad} bad part(s)` : ''}`,
  );
  return bad > 0 ? EXIT.badInput : EXIT.ok;
}

export function registerRules(program: Command): void {
  const rules = program.command('rules').description('detection rules: test, check, run over a file');
  const print = (s: string) => process.stdout.write(`${s}\n`);
  const printErr = (s: string) => process.stderr.write(`${s}\n`);
  rules
    .command('test')
    .description("run every rule's match / no_match examples")
    .argument('[paths...]', 'rule files or folders', ['rules'])
    .action(async (paths: string[]) => {
      try {
        process.exitCode = (await rulesTest(paths, print, printErr)).code;
      } catch (e) {
        fail(e);
      }
    });
  rules
    .command('check')
    .description('validate rule files (logferry or Sigma) and show warnings')
    .argument('<files...>', 'rule files')
    .action(async (files: string[]) => {
      try {
        process.exitCode = await rulesCheck(files, print, printErr);
      } catch (e) {
        fail(e);
      }
    });
  rules
    .command('run')
    .description('evaluate the rules over a log file and print the alerts as JSON lines')
    .requiredOption(
      '-i, --input <file>',
      'log file (CloudTrail JSON, ELB/ALB log, JSON lines; gzip or plain)',
    )
    .option('-r, --rules <paths...>', 'rule files or folders', ['rules'])
    .option(
      '-p, --parser <name>',
      'parser (default: aws_logs, which recognizes CloudTrail and load balancer logs)',
    )
    .action(async (opts: { input: string; rules: string[]; parser?: string }) => {
      try {
        process.exitCode = await rulesRun(opts, print, printErr);
      } catch (e) {
        if (e instanceof RuleLoadError) {
          for (const p of e.problems) printErr(p);
          process.exitCode = EXIT.usage;
          return;
        }
        fail(e);
      }
    });
}
