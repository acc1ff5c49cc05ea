import { describe, expect, it } from 'vitest';
import { finalizeEvent } from '../core/pipeline.js';
import { createTransform, transformSchema } from './index.js';

function ev(dataset = 'aws.cloudtrail') {
  return finalizeEvent(
    {
      dataset,
      timestamp: 0,
      doc: {
        user: { name: 'alice', password: 'hunter2' },
        source: { ip: '10.0.0.1' },
        message: 'health check',
      },
      idParts: [1],
    },
    { source: 's', type: 't', ref: 'r' },
  );
}

const t = (cfg: unknown) => createTransform(transformSchema.parse(cfg));

describe('transforms', () => {
  it('adds, drops and redacts fields by dotted path', () => {
    const out = [
      t({ type: 'add_fields', fields: { 'labels.env': 'prod', 'cloud.region': 'eu-west-1' } }),
      t({ type: 'drop_fields', fields: ['source.ip'] }),
      t({ type: 'redact', fields: ['user.password', 'user.missing'] }),
    ].reduce((e, f) => (e ? f(e) : e), ev() as ReturnType<typeof ev> | null)!;
    expect(out.doc).toMatchObject({
      labels: { env: 'prod' },
      cloud: { region: 'eu-west-1' },
      user: { name: 'alice', password: '[redacted]' },
    });
    expect(out.doc.source).toEqual({});
    expect((out.doc.user as Record<string, unknown>).missing).toBeUndefined();
  });

  it('drops events by value or pattern, and only in the datasets named', () => {
    const drop = t({ type: 'drop', field: 'message', matches: '^health', datasets: ['aws.alb'] });
    expect(drop(ev('aws.alb'))).toBeNull();
    expect(drop(ev('aws.cloudtrail'))).not.toBeNull();
    expect(t({ type: 'drop', field: 'user.name', equals: 'alice' })(ev())).toBeNull();
    expect(t({ type: 'drop', field: 'user.name', equals: 'bob' })(ev())).not.toBeNull();
  });

  it('refuses a drop with nothing to compare, or with a regex the linear-time engine cannot run', () => {
    expect(transformSchema.safeParse({ type: 'drop', field: 'x' }).success).toBe(false);
    const bad = transformSchema.safeParse({ type: 'drop', field: 'x', matches: '(a)\\1' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['matches']);
    expect(bad.error?.issues[0]?.message).toMatch(/uses a backreference/);
  });

  it('runs a drop pattern that backtracks in V8 in linear time', () => {
    const drop = t({ type: 'drop', field: 'message', matches: '(a|aa)+$' });
    const hostile = finalizeEvent(
      { dataset: 'aws.alb', timestamp: 0, doc: { message: `${'a'.repeat(60)}b` }, idParts: [2] },
      { source: 's', type: 't', ref: 'r' },
    );
    expect(drop(hostile)).not.toBeNull();
    expect(drop(ev())).not.toBeNull();
  }, 60_000);
});
