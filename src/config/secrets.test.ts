import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseConfig } from './load.js';
import { redact, redactConfig, resolveSecret, Secret } from './secrets.js';

describe('secrets', () => {
  it('never shows a secret when printed, logged or serialized', () => {
    const s = new Secret('hunter2');
    expect(String(s)).toBe('[redacted]');
    expect(JSON.stringify({ s })).toBe('{"s":"[redacted]"}');
    expect(inspect({ s })).not.toContain('hunter2');
    expect(s.reveal()).toBe('hunter2');
  });

  it('resolves from the environment and names the variable (not the value) when missing', async () => {
    expect((await resolveSecret({ env: 'K' }, { K: 'v' })).reveal()).toBe('v');
    await expect(resolveSecret({ env: 'MISSING_SKEY' }, {})).rejects.toThrow(
      'secret from env MISSING_SKEY: the variable is not set',
    );
  });

  it('redacts secret-looking keys in status output but keeps references readable', () => {
    const out = redact({
      skey: 'abc',
      nested: { webhook_url: 'https://hooks.slack.com/services/T/B/X', host: 'api-1.duosecurity.com' },
      token: { env: 'TOK' },
    });
    expect(out).toEqual({
      skey: '[redacted]',
      nested: { webhook_url: '[redacted]', host: 'api-1.duosecurity.com' },
      token: { env: 'TOK' },
    });
  });

  it('redacts credentials by value and shows ${VAR} references instead of what they hold', () => {
    const config = parseConfig(
      `
sources:
  - name: duo
    type: duo
    host: api-1234abcd.duosecurity.com
    ikey: DIWJ8X6AEYOR5OMC6TQ1
    skey: { env: DUO_SKEY }
    endpoint: https://user:PASSWORD@proxy.internal:8443
  - name: inbox
    type: inbox
    path: \${INBOX_DIR}/in
    parser: json_lines
    parser_options: { dataset: app.audit, url: 'https://u:hunter2@h/x?token=t0k&page=2', note: '\${NOTE}' }
sinks:
  - { name: out, type: stdout }
`,
      'cfg.yaml',
      { INBOX_DIR: '/srv/secret-mount', NOTE: 'sk-live-value' },
    );
    const out = JSON.stringify(redactConfig(config));
    expect(out).not.toMatch(/PASSWORD|hunter2|t0k|sk-live-value|secret-mount/);
    const [duo, inbox] = (redactConfig(config) as { sources: Record<string, unknown>[] }).sources;
    expect(duo).toMatchObject({
      endpoint: 'https://[redacted]@proxy.internal:8443',
      skey: { env: 'DUO_SKEY' },
    });
    expect(inbox).toMatchObject({
      path: '${INBOX_DIR}/in',
      parser_options: { url: 'https://[redacted]@h/x?token=[redacted]&page=2', note: '${NOTE}' },
    });
    // The config itself keeps the values the components need.
    expect(config.sources[1]).toMatchObject({ path: '/srv/secret-mount/in' });
  });
});

describe('secrets from a JSON credentials file', () => {
  it('reads one member of a JSON object, as duo_watcher keeps credentials/duo.json', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'secrets-'));
    const file = join(dir, 'duo.json');
    await writeFile(
      file,
      JSON.stringify({
        ikey: 'DIWJ8X6AEYOR5OMC6TQ1',
        skey: 'Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep',
        apihost: 'api-xxxxxxxx.duosecurity.com',
      }),
    );
    expect((await resolveSecret({ file, key: 'skey' })).reveal()).toBe(
      'Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep',
    );
  });

  it('names the file and key, never the content, when the key is missing or the file is not JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'secrets-'));
    const file = join(dir, 'duo.json');
    await writeFile(file, '{"skey": "s3cr3t-value"}');
    const missing = resolveSecret({ file, key: 'ikey' });
    await expect(missing).rejects.toThrow(`secret from file ${file} key ikey: no string member 'ikey'`);
    await writeFile(file, 's3cr3t-value not json');
    const err = await resolveSecret({ file, key: 'skey' }).catch((e: Error) => e);
    expect(String(err)).toContain('the content is not JSON');
    expect(String(err)).not.toContain('s3cr3t');
    expect(inspect(err, { depth: 5 })).not.toContain('s3cr3t');
  });
});
