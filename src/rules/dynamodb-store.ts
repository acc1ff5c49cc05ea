import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  QueryCommand,
  type QueryCommandOutput,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { StateError } from '../core/errors.js';
import { bucketWidth, type Claim, type WindowStore, type WindowTotals, type WindowUpdate } from './window.js';

/**
 * Window state in DynamoDB, shared by every Lambda invocation. Items (table key `pk` S + `sk` N,
 * TTL on `ttl`):
 * - `w#<rule+group>` / bucket start: `c` count, `s` sum, `v` string set, added with ADD (atomic,
 *   so concurrent writers' counts add up);
 * - `t#<dedup key>` / 0: the throttle, claimed with a conditional update so exactly one writer
 *   sends the alert and the others add to `suppressed`;
 * - `n#<rule+group>` / 0 and `n#<rule+group>#<value>` / 0: first-seen values.
 */
export class DynamoWindowStore implements WindowStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  private fail(what: string, e: unknown): never {
    throw new StateError(
      `rule window store dynamodb://${this.table}: ${what} failed (${(e as Error).name})`,
      {
        cause: e,
        retryable: true,
      },
    );
  }

  async add(updates: readonly WindowUpdate[]): Promise<WindowTotals[]> {
    // Fold the chunk's updates per bucket: one write per bucket, then one read per window.
    const buckets = new Map<
      string,
      { key: string; start: number; u: WindowUpdate; c: number; s: number; v: Set<string> }
    >();
    const latest = new Map<string, WindowUpdate>();
    for (const u of updates) {
      const w = bucketWidth(u.windowMs);
      const start = Math.floor(u.ts / w) * w;
      const id = `${u.key}\x1e${start}`;
      let b = buckets.get(id);
      if (!b) {
        b = { key: u.key, start, u, c: 0, s: 0, v: new Set() };
        buckets.set(id, b);
      }
      b.c += u.count;
      b.s += u.sum;
      if (u.value !== undefined) b.v.add(u.value);
      const l = latest.get(u.key);
      if (!l || u.ts > l.ts) latest.set(u.key, u);
    }
    await Promise.all(
      [...buckets.values()].map(async (b) => {
        const values: Record<string, AttributeValue> = {
          ':c': { N: String(b.c) },
          ':s': { N: String(b.s) },
          ':ttl': { N: String(Math.ceil((b.start + 2 * b.u.windowMs) / 1000)) },
        };
        let expr = 'ADD c :c, s :s';
        if (b.v.size > 0) {
          values[':v'] = { SS: [...b.v] };
          expr += ', v :v';
        }
        try {
          await this.client.send(
            new UpdateItemCommand({
              TableName: this.table,
              Key: { pk: { S: `w#${b.key}` }, sk: { N: String(b.start) } },
              UpdateExpression: `${expr} SET #ttl = :ttl`,
              ExpressionAttributeNames: { '#ttl': 'ttl' },
              ExpressionAttributeValues: values,
            }),
          );
        } catch (e) {
          this.fail('window update', e);
        }
      }),
    );
    const totals = new Map<string, WindowTotals>();
    await Promise.all([...latest.values()].map(async (u) => totals.set(u.key, await this.totals(u))));
    return updates.map((u) => totals.get(u.key)!);
  }

  private async totals(u: WindowUpdate): Promise<WindowTotals> {
    const w = bucketWidth(u.windowMs);
    const t = { count: 0, sum: 0, distinct: 0 };
    const union = new Set<string>();
    let start: Record<string, AttributeValue> | undefined;
    do {
      let out: QueryCommandOutput;
      try {
        out = await this.client.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
            ExpressionAttributeValues: {
              ':pk': { S: `w#${u.key}` },
              // Buckets overlapping the event's window, none after it.
              ':from': { N: String(u.ts - u.windowMs - w + 1) },
              ':to': { N: String(u.ts) },
            },
            ConsistentRead: true,
            ExclusiveStartKey: start,
          }),
        );
      } catch (e) {
        this.fail('window read', e);
      }
      for (const item of out.Items ?? []) {
        t.count += Number(item.c?.N ?? 0);
        t.sum += Number(item.s?.N ?? 0);
        for (const v of item.v?.SS ?? []) union.add(v);
      }
      start = out.LastEvaluatedKey;
    } while (start);
    t.distinct = union.size;
    return t;
  }

  async firstSeen(key: string, value: string, ts: number, windowMs: number): Promise<boolean> {
    const ttl = { N: String(Math.ceil((ts + windowMs) / 1000)) };
    try {
      const group = await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: { S: `n#${key}` }, sk: { N: '0' } },
          UpdateExpression: 'SET #last = if_not_exists(#last, :zero), #ttl = :ttl',
          ExpressionAttributeNames: { '#last': 'last', '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':zero': { N: '0' }, ':ttl': ttl },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const prev = await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: { S: `n#${key}#${value}` }, sk: { N: '0' } },
          UpdateExpression: 'SET #last = :ts, #ttl = :ttl',
          ExpressionAttributeNames: { '#last': 'last', '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':ts': { N: String(ts) }, ':ttl': ttl },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const hadHistory = group.Attributes !== undefined && Number(group.Attributes.ttl?.N ?? 0) * 1000 > ts;
      const last = prev.Attributes?.last?.N;
      return hadHistory && (last === undefined || Number(last) <= ts - windowMs);
    } catch (e) {
      this.fail('first-seen update', e);
    }
  }

  async claim(key: string, ts: number, throttleMs: number, hits: number): Promise<Claim> {
    if (throttleMs <= 0) return { send: true, suppressed: hits - 1 };
    const Key = { pk: { S: `t#${key}` }, sk: { N: '0' } };
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key,
          UpdateExpression: 'SET #until = :until, suppressed = :rest, #ttl = :ttl',
          ConditionExpression: 'attribute_not_exists(pk) OR #until <= :ts',
          ExpressionAttributeNames: { '#until': 'until', '#ttl': 'ttl' },
          ExpressionAttributeValues: {
            ':until': { N: String(ts + throttleMs) },
            ':rest': { N: String(hits - 1) },
            ':ts': { N: String(ts) },
            ':ttl': { N: String(Math.ceil((ts + throttleMs * 2) / 1000)) },
          },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return { send: true, suppressed: Number(out.Attributes?.suppressed?.N ?? 0) };
    } catch (e) {
      if (
        !(e instanceof ConditionalCheckFailedException) &&
        (e as Error).name !== 'ConditionalCheckFailedException'
      )
        this.fail('throttle claim', e);
    }
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key,
          UpdateExpression: 'ADD suppressed :n',
          ExpressionAttributeValues: { ':n': { N: String(hits) } },
        }),
      );
    } catch (e) {
      this.fail('throttle count', e);
    }
    return { send: false, suppressed: 0 };
  }

  async flush(): Promise<void> {}
}
