import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { duopullConfig } from './duopull.js';

const old = {
  DUOPULL_REGION: 'eu-west-1',
  DUOPULL_S3_BUCKET: 'duo-state-bucket',
  DUOPULL_KINESIS_STREAM: 'duo-logs',
  DUOPULL_HOST: 'api-12345678.duosecurity.com',
  DUOPULL_IKEY: 'DIWJ8X6AEYOR5OMC6TQ1',
  DUOPULL_SKEY: 'secret-value-never-printed',
};

describe('DUOPULL_* variables of the Go Lambda', () => {
  it('make a config: S3 checkpoints, Kinesis sink, duo source with the secret read from the env', () => {
    const cfg = duopullConfig(old)!;
    expect(cfg.state).toMatchObject({ type: 's3', bucket: 'duo-state-bucket', aws: { region: 'eu-west-1' } });
    expect(cfg.dead_letter).toMatchObject({ type: 's3', bucket: 'duo-state-bucket' });
    expect(cfg.sinks[0]).toMatchObject({ type: 'kinesis', stream: 'duo-logs', aws: { region: 'eu-west-1' } });
    expect(cfg.sources[0]).toMatchObject({
      type: 'duo',
      host: 'api-12345678.duosecurity.com',
      ikey: 'DIWJ8X6AEYOR5OMC6TQ1',
      skey: { env: 'DUOPULL_SKEY' },
    });
    expect(JSON.stringify(cfg)).not.toContain('secret-value-never-printed');
  });

  it('take the secret from Secrets Manager or SSM when named', () => {
    const { DUOPULL_SKEY: _s, ...rest } = old;
    expect(duopullConfig({ ...rest, DUOPULL_SKEY_SECRET: 'duo/skey' })!.sources[0]).toMatchObject({
      skey: { aws_secretsmanager: 'duo/skey' },
    });
    expect(duopullConfig({ ...rest, DUOPULL_SKEY_SSM: '/duo/skey' })!.sources[0]).toMatchObject({
      skey: { ssm: '/duo/skey' },
    });
  });

  it('are ignored when absent, and name what is missing when incomplete', () => {
    expect(duopullConfig({})).toBeUndefined();
    const { DUOPULL_KINESIS_STREAM: _k, DUOPULL_SKEY: _s, ...partial } = old;
    expect(() => duopullConfig(partial)).toThrow(ConfigError);
    expect(() => duopullConfig(partial)).toThrow(/DUOPULL_KINESIS_STREAM, DUOPULL_SKEY/);
  });

  it('a print run needs only the Duo settings: local checkpoints, events on stdout', () => {
    const { DUOPULL_S3_BUCKET: _b, DUOPULL_KINESIS_STREAM: _k, ...duoOnly } = old;
    const cfg = duopullConfig(duoOnly, { duoOnly: true })!;
    expect(cfg.sinks).toEqual([{ type: 'stdout', name: 'stdout', format: 'doc' }]);
    expect(cfg.state).toMatchObject({ type: 'file' });
    expect(() => duopullConfig(duoOnly)).toThrow(/DUOPULL_S3_BUCKET, DUOPULL_KINESIS_STREAM/);
  });
});
