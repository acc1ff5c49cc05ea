/**
 * A logferry config as the CDK app sees it: the YAML text the function will read (comments
 * dropped, `${VAR}` kept for the function's environment), its `${VAR}` references, and its shape
 * with each variable replaced by what the stack binds to it (a resource name or a parameter).
 */
import { readFileSync } from 'node:fs';
import { isScalar, parse, parseDocument, stringify } from 'yaml';
import type { Config } from '../src/config/schema.js';
import { ConfigError } from '../src/core/errors.js';
import { configShape, standIn } from './bundle.js';

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const WHOLE_REF = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$/;
/** Lambda sets these itself and refuses them as function variables. */
export const RESERVED =
  /^(AWS_REGION|AWS_DEFAULT_REGION|AWS_EXECUTION_ENV|AWS_LAMBDA_\w*|AWS_ACCESS_KEY\w*|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|AWS_XRAY_\w*|_HANDLER|_X_AMZN_TRACE_ID|LAMBDA_\w*|TZ)$/;

export interface Variable {
  name: string;
  default?: string;
}

export class LogferryConfig {
  private constructor(
    readonly name: string,
    readonly text: string,
    readonly variables: Variable[],
  ) {}

  static fromFile(path: string): LogferryConfig {
    return LogferryConfig.fromText(readFileSync(path, 'utf8'), path);
  }

  static fromText(text: string, name: string): LogferryConfig {
    const vars = new Map<string, Variable>();
    for (const m of text.matchAll(ENV_REF)) {
      if (text.lastIndexOf('#', m.index) > text.lastIndexOf('\n', m.index)) continue; // in a comment
      if (!vars.has(m[1]!))
        vars.set(m[1]!, m[2] === undefined ? { name: m[1]! } : { name: m[1]!, default: m[2] });
    }
    const cfg = new LogferryConfig(name, text, [...vars.values()]);
    cfg.shape(); // fail at synth, not at the first invocation
    return cfg;
  }

  /** The YAML without comments, for the function's LOGFERRY_CONFIG_YAML (Lambda allows 4 KB of variables). */
  compact(): string {
    return stringify(parse(this.text), { lineWidth: 0 });
  }

  /** The variable the value at `path` is made of, when it is exactly one `${VAR}`. */
  variableAt(path: (string | number)[]): string | undefined {
    const node = parseDocument(this.text).getIn(path, true);
    return isScalar(node) && typeof node.value === 'string' ? WHOLE_REF.exec(node.value)?.[1] : undefined;
  }

  /** The validated config with stand-ins for the variables. */
  shape(): Config {
    return configShape(this.text, this.name, {});
  }

  /** The config with each variable's stand-in replaced by its binding (CloudFormation tokens work). */
  resolve(bindings: Record<string, string>): Config {
    // Region variables need no binding: the runtime sets AWS_REGION, and ARNs use the stack's region.
    const bound = this.variables.filter((v) => !/(^|_)REGION$/.test(v.name));
    const missing = bound.filter((v) => (bindings[v.name] ?? v.default) === undefined).map((v) => v.name);
    if (missing.length)
      throw new ConfigError(`${this.name}: nothing is bound to \${${missing.join('}, ${')}}`);
    const markers = bound.map((v) => [standIn(v.name), (bindings[v.name] ?? v.default)!] as const);
    const swap = (v: unknown): unknown => {
      if (typeof v === 'string') return markers.reduce((s, [m, b]) => s.split(m).join(b), v);
      if (Array.isArray(v)) return v.map(swap);
      if (v && typeof v === 'object')
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, swap(x)]));
      return v;
    };
    return swap(this.shape()) as Config;
  }
}
