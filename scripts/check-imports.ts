/**
 * The layering rules of docs/architecture.md, checked on every `npm run lint`:
 * - no import cycle among the production modules of src/ (type-only and lazy imports count:
 *   a cycle of types is still two modules that cannot be understood apart);
 * - src/core/ is pure: it imports only core modules and no fs, process, AWS, Smithy or logger
 *   package, and never reads the `process` global;
 * - production code imports nothing from src/testing/.
 * It reads imports with the TypeScript scanner (the compiler the project already has), so it
 * sees exactly what `tsc` sees, without another dependency and its own resolver to configure.
 * Run it on another tree with `tsx scripts/check-imports.ts <repo root>`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

const FORBIDDEN_IN_CORE = [
  /^node:fs(\/|$)/,
  /^fs(\/|$)/,
  /^node:process$/,
  /^process$/,
  /^@aws-sdk\//,
  /^@smithy\//,
  /^pino($|\/)/,
];

interface Module {
  file: string;
  imports: { specifier: string; target?: string }[];
  readsProcess: boolean;
}

function listSources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listSources(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

const isTest = (file: string): boolean => file.endsWith('.test.ts');

function resolveRelative(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = resolve(dirname(from), specifier);
  const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')];
  return candidates.find((candidate) => {
    try {
      return statSync(candidate).isFile();
    } catch {
      return false;
    }
  });
}

function readsProcessGlobal(source: ts.SourceFile): boolean {
  let found = false;
  const visit = (node: ts.Node): void => {
    if (found) return;
    // `process.env`, `process.exit()`…; a method that happens to be named `process` is fine.
    const parent = node.parent;
    if (ts.isIdentifier(node) && node.text === 'process' && parent) {
      const usedAsObject =
        (ts.isPropertyAccessExpression(parent) || ts.isElementAccessExpression(parent)) &&
        parent.expression === node;
      if (usedAsObject) found = true;
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function readModule(file: string): Module {
  const text = readFileSync(file, 'utf8');
  const info = ts.preProcessFile(text, true, true);
  const imports = info.importedFiles.map(({ fileName }) => {
    const target = resolveRelative(file, fileName);
    return target ? { specifier: fileName, target } : { specifier: fileName };
  });
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  return { file, imports, readsProcess: readsProcessGlobal(source) };
}

function findCycles(modules: Map<string, Module>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const { target } of modules.get(file)?.imports ?? []) {
      if (!target || !modules.has(target)) continue;
      if (state.get(target) === 'open') cycles.push([...stack.slice(stack.indexOf(target)), target]);
      else if (!state.has(target)) visit(target);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...modules.keys()].sort()) if (!state.has(file)) visit(file);
  return cycles;
}

function coreViolations(root: string, module: Module): string[] {
  const core = join(root, 'src', 'core') + sep;
  const problems: string[] = [];
  for (const { specifier, target } of module.imports) {
    if (target && !target.startsWith(core)) problems.push(`imports ${specifier}, outside src/core`);
    if (FORBIDDEN_IN_CORE.some((pattern) => pattern.test(specifier))) problems.push(`imports ${specifier}`);
  }
  if (module.readsProcess) problems.push('reads the process global');
  return problems;
}

export function checkImports(root: string): string[] {
  const src = join(root, 'src');
  const testing = join(src, 'testing') + sep;
  const core = join(src, 'core') + sep;
  const production = listSources(src).filter((file) => !isTest(file));
  const modules = new Map(production.map((file) => [file, readModule(file)]));
  const rel = (file: string): string => relative(root, file);
  const problems: string[] = [];
  for (const cycle of findCycles(modules)) problems.push(`import cycle: ${cycle.map(rel).join(' -> ')}`);
  for (const module of modules.values()) {
    if (module.file.startsWith(core)) {
      for (const problem of coreViolations(root, module))
        problems.push(`${rel(module.file)}: core ${problem}`);
    }
    if (module.file.startsWith(testing)) continue;
    for (const { specifier, target } of module.imports) {
      if (target?.startsWith(testing))
        problems.push(`${rel(module.file)}: production code imports ${specifier}`);
    }
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('check-imports.ts')) {
  const root = resolve(process.argv[2] ?? '.');
  const problems = checkImports(root);
  for (const problem of problems) console.error(problem);
  if (problems.length > 0) {
    console.error(`check-imports: ${problems.length} problem(s); the rules are in docs/architecture.md`);
    process.exit(1);
  }
  console.log('check-imports: no cycle, core is pure, production code does not import src/testing');
}
