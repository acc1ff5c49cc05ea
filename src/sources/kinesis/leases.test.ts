import { describe, expect, it } from 'vitest';
import type { Lease } from './lease-table.js';
import { leasesToTake } from './leases.js';
import { kinesisSourceSchema } from './schema.js';

function lease(shardId: string, owner?: string, extra: Partial<Lease> = {}): Lease {
  return {
    shardId,
    owner,
    counter: 1,
    checkpoint: 'TRIM_HORIZON',
    subSequence: 0,
    ownerSwitches: 0,
    parents: [],
    ...extra,
  };
}
const none = () => false;
const ids = (ls: Lease[]) => ls.map((l) => l.shardId);

describe('leasesToTake', () => {
  it('takes every free lease when alone', () => {
    expect(ids(leasesToTake([lease('s0'), lease('s1'), lease('s2')], 'me', none))).toEqual([
      's0',
      's1',
      's2',
    ]);
  });

  it('takes free leases only up to an even share of the live workers', () => {
    const leases = [lease('s0', 'a'), lease('s1', 'a'), lease('s2'), lease('s3')];
    // Two workers, four leases: our share is two.
    expect(ids(leasesToTake(leases, 'me', none))).toEqual(['s2', 's3']);
    expect(ids(leasesToTake([...leases, lease('s4', 'b'), lease('s5', 'b')], 'me', none))).toEqual([
      's2',
      's3',
    ]);
  });

  it('steals one lease per cycle from the most loaded worker, and none once the share is even', () => {
    const leases = [lease('s0', 'a'), lease('s1', 'a'), lease('s2', 'a'), lease('s3', 'b')];
    expect(ids(leasesToTake(leases, 'me', none))).toEqual(['s0']);
    const after = [lease('s0', 'me'), lease('s1', 'a'), lease('s2', 'a'), lease('s3', 'b')];
    expect(leasesToTake(after, 'me', none)).toEqual([]);
  });

  it('steals from a worker at the share when two or more short, as KCL does', () => {
    const leases = ['s0', 's1', 's2', 's3'].map((s) => lease(s, 'a'));
    // Two workers: share 2, we hold 0, a holds 4 > 2.
    expect(ids(leasesToTake(leases, 'me', none))).toHaveLength(1);
    const even = [
      lease('s0', 'a'),
      lease('s1', 'a'),
      lease('s2', 'b'),
      lease('s3', 'b'),
      lease('s4', 'c'),
      lease('s5', 'c'),
    ];
    // Four workers, six leases: share 2, we are two short, a holds exactly 2.
    expect(ids(leasesToTake(even, 'me', none))).toHaveLength(1);
  });

  it('takes the expired leases of a dead worker instead of stealing', () => {
    const leases = [lease('s0', 'dead'), lease('s1', 'dead'), lease('s2', 'b'), lease('s3', 'b')];
    const expired = (l: Lease) => l.owner === 'dead';
    expect(ids(leasesToTake(leases, 'me', expired))).toEqual(['s0', 's1']);
  });

  it('leaves a child until every parent still in the table has reached SHARD_END', () => {
    const parent = lease('s0', 'a', {
      checkpoint: '49590338271490256608559692538361571095921575989136588802',
    });
    const child = lease('s1', undefined, { parents: ['s0'] });
    expect(leasesToTake([parent, child], 'me', none)).toEqual([]);
    const ended = { ...parent, owner: undefined, checkpoint: 'SHARD_END' };
    expect(ids(leasesToTake([ended, child], 'me', none))).toEqual(['s1']);
    // A parent no longer in the table (aged out) does not block.
    expect(ids(leasesToTake([child], 'me', none))).toEqual(['s1']);
  });

  it('never holds more than max_leases', () => {
    const leases = ['s0', 's1', 's2', 's3'].map((s) => lease(s));
    expect(ids(leasesToTake(leases, 'me', none, 3))).toEqual(['s0', 's1', 's2']);
  });

  it('does not take SHARD_END leases', () => {
    expect(leasesToTake([lease('s0', undefined, { checkpoint: 'SHARD_END' })], 'me', none)).toEqual([]);
  });
});

describe('leases config', () => {
  const source = { name: 'central', type: 'kinesis', stream: 'central-logging' };

  it('defaults lease_duration to KCL’s 10 s and leaves worker_id to the host', () => {
    const cfg = kinesisSourceSchema.parse({ ...source, leases: { table: 'logferry-central' } });
    expect(cfg.leases).toEqual({ table: 'logferry-central', lease_duration: 10_000 });
  });

  it('refuses a renew_interval that would let the leases expire between renewals', () => {
    const r = kinesisSourceSchema.safeParse({
      ...source,
      leases: { table: 'logferry-central', lease_duration: '5s', renew_interval: '5s' },
    });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['leases', 'renew_interval']);
  });

  it('refuses unknown keys, as every config section does', () => {
    expect(
      kinesisSourceSchema.safeParse({ ...source, leases: { table: 'x-app', owner: 'me' } }).success,
    ).toBe(false);
  });
});
