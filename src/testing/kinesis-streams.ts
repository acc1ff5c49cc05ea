import {
  CreateStreamCommand,
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';

/** Creates a one-shard stream and waits until it takes writes. */
export async function createStream(client: KinesisClient, name: string): Promise<void> {
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
  for (;;) {
    const d = await client.send(new DescribeStreamCommand({ StreamName: name }));
    if (d.StreamDescription?.StreamStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every record's data as text, in shard order. */
export async function readRecords(client: KinesisClient, name: string): Promise<string[]> {
  const d = await client.send(new DescribeStreamCommand({ StreamName: name }));
  const out: string[] = [];
  for (const shard of d.StreamDescription?.Shards ?? []) {
    let it = (
      await client.send(
        new GetShardIteratorCommand({
          StreamName: name,
          ShardId: shard.ShardId!,
          ShardIteratorType: 'TRIM_HORIZON',
        }),
      )
    ).ShardIterator;
    for (let i = 0; it && i < 100; i++) {
      const r = await client.send(new GetRecordsCommand({ ShardIterator: it, Limit: 10_000 }));
      for (const rec of r.Records ?? []) out.push(Buffer.from(rec.Data!).toString('utf8'));
      if (!r.Records?.length) break;
      it = r.NextShardIterator;
    }
  }
  return out;
}

/** Every record parsed as JSON, in shard order. */
export async function readJsonRecords(
  client: KinesisClient,
  name: string,
): Promise<Record<string, unknown>[]> {
  return (await readRecords(client, name)).map((r) => JSON.parse(r) as Record<string, unknown>);
}
