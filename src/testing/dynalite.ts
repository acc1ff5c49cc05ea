import { createRequire } from 'node:module';
import { CreateTableCommand, type CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { freePort } from './ports.js';

/** dynalite (DynamoDB) in-process on a free port; clients made here are destroyed by `stop`. */
export interface DynamoEmulator {
  endpoint: string;
  /** A new client (several make concurrent writers); all are destroyed on stop. */
  client(): DynamoDBClient;
  createTable(input: CreateTableCommandInput): Promise<void>;
  stop(): Promise<void>;
}

export async function startDynalite(): Promise<DynamoEmulator> {
  const port = await freePort();
  const server = createRequire(import.meta.url)('dynalite')({ createTableMs: 0 }) as {
    listen(port: number, host: string, cb: () => void): void;
    close(cb: () => void): void;
  };
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${port}`;
  const clients: DynamoDBClient[] = [];
  const client = () => {
    const c = new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      requestHandler: new NodeHttpHandler(),
    });
    clients.push(c);
    return c;
  };
  return {
    endpoint,
    client,
    async createTable(input) {
      await client().send(new CreateTableCommand(input));
    },
    async stop() {
      for (const c of clients) c.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
