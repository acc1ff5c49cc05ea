import { readFile } from 'node:fs/promises';
import { inspect } from 'node:util';
import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { REDACTED, redactString } from '../core/redact.js';
import { type ConfigPath, pathKey, referencesOf } from './substitutions.js';

/**
 * Where a secret comes from. A literal string works but is discouraged; the others keep the
 * secret out of the config file.
 */
export const SecretRefSchema = z.union(
  [
    z.string().min(1),
    z.object({ env: z.string().min(1) }).strict(),
    /** A file holding the secret alone, or with `key` a JSON object holding it (duo_watcher's credentials/duo.json). */
    z.object({ file: z.string().min(1), key: z.string().min(1).optional() }).strict(),
    z.object({ aws_secretsmanager: z.string().min(1), key: z.string().optional() }).strict(),
    z.object({ ssm: z.string().min(1) }).strict(),
  ],
  {
    // Never echoes the value: it may be the secret itself.
    error:
      'not a secret reference — write text, {env: VAR}, {file: PATH} (with key: NAME for a JSON file), {aws_secretsmanager: ID, key: KEY} or {ssm: NAME}',
  },
);
export type SecretRef = z.infer<typeof SecretRefSchema>;

/** Holds a secret so that printing, logging or serializing it shows `[redacted]`. */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [inspect.custom](): string {
    return REDACTED;
  }
}

export function describeSecretRef(ref: SecretRef): string {
  if (typeof ref === 'string') return 'inline value';
  if ('env' in ref) return `env ${ref.env}`;
  if ('file' in ref) return ref.key ? `file ${ref.file} key ${ref.key}` : `file ${ref.file}`;
  if ('ssm' in ref) return `SSM parameter ${ref.ssm}`;
  return `Secrets Manager ${ref.aws_secretsmanager}`;
}

export async function resolveSecret(ref: SecretRef, env: NodeJS.ProcessEnv = process.env): Promise<Secret> {
  const what = describeSecretRef(ref);
  try {
    if (typeof ref === 'string') return new Secret(ref);
    if ('env' in ref) {
      const v = env[ref.env];
      if (!v) throw new ConfigError(`secret from ${what}: the variable is not set`);
      return new Secret(v);
    }
    if ('file' in ref) {
      const text = await readFile(ref.file, 'utf8');
      return new Secret(ref.key ? keyOfJson(text, ref.key, what) : text.trim());
    }
    if ('ssm' in ref) {
      const { SSMClient, GetParameterCommand } = await import('@aws-sdk/client-ssm');
      const out = await new SSMClient({}).send(
        new GetParameterCommand({ Name: ref.ssm, WithDecryption: true }),
      );
      if (!out.Parameter?.Value) throw new ConfigError(`secret from ${what}: parameter has no value`);
      return new Secret(out.Parameter.Value);
    }
    const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
    const out = await new SecretsManagerClient({}).send(
      new GetSecretValueCommand({ SecretId: ref.aws_secretsmanager }),
    );
    const raw = out.SecretString;
    if (!raw) throw new ConfigError(`secret from ${what}: no SecretString`);
    return new Secret(ref.key ? keyOfJson(raw, ref.key, what) : raw);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    // Never echo the underlying message blindly: some SDK errors quote request parameters.
    throw new ConfigError(`secret from ${what} could not be read (${(e as Error).name})`, { cause: e });
  }
}

/** One string member of a JSON object; the errors never quote the text, which holds other secrets. */
function keyOfJson(text: string, key: string, what: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // No cause: JSON.parse's message quotes the text around the error, which may be a secret.
    throw new ConfigError(`secret from ${what}: the content is not JSON`);
  }
  const value =
    parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)[key]
      : undefined;
  if (typeof value !== 'string' || value === '')
    throw new ConfigError(`secret from ${what}: no string member '${key}' in the JSON object`);
  return value;
}

const SECRET_KEY = /(secret|skey|password|passwd|token|api[_-]?key|authorization|webhook|access[_-]?key)/i;

function isSecretRefObject(v: object): boolean {
  return 'env' in v || 'file' in v || 'ssm' in v || 'aws_secretsmanager' in v;
}

/**
 * Deep copy for status output and error context: a secret-looking key's value is replaced, a
 * secret reference (`{env: X}`) stays readable, and every other string is redacted by value
 * (URL userinfo, secret query parameters).
 */
export function redact(value: unknown): unknown {
  return redactAt(value, [], undefined, 0);
}

/** `redact` for a loaded config: values that came from `${VAR}` show the reference as written. */
export function redactConfig(config: object): unknown {
  return redactAt(config, [], referencesOf(config), 0);
}

function redactAt(
  value: unknown,
  path: ConfigPath,
  references: ReadonlyMap<string, string> | undefined,
  depth: number,
): unknown {
  const written = references?.get(pathKey(path));
  if (written !== undefined && (value === null || typeof value !== 'object')) return redactString(written);
  if (typeof value === 'string') return redactString(value);
  if (depth > 20 || value === null || typeof value !== 'object') return value;
  if (value instanceof Secret) return REDACTED;
  if (Array.isArray(value)) return value.map((v, i) => redactAt(v, [...path, i], references, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const hidden =
      SECRET_KEY.test(k) && v !== undefined && v !== null && (typeof v !== 'object' || !isSecretRefObject(v));
    out[k] = hidden ? REDACTED : redactAt(v, [...path, k], references, depth + 1);
  }
  return out;
}
