import {
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { StateStore } from '../../core/component.js';
import { StateError } from '../../core/errors.js';
import { awsClientConfig } from '../../platform/aws.js';
import type { DynamodbStateConfig } from './schema.js';

/**
 * Checkpoints as DynamoDB items `{<key>, value (JSON text), version}`, written by a conditional
 * update on the version this store last saw, so a second writer is detected instead of winning.
 */
export class DynamodbStateStore implements StateStore {
  private readonly versions = new Map<string, number>();

  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly keyAttr: string,
  ) {}

  private where(key: string): string {
    return `dynamodb://${this.table}/${key}`;
  }

  async get<T>(key: string): Promise<T | undefined> {
    let item: Record<string, { S?: string; N?: string }> | undefined;
    try {
      const out = await this.client.send(
        new GetItemCommand({
          TableName: this.table,
          Key: { [this.keyAttr]: { S: key } },
          ConsistentRead: true,
        }),
      );
      item = out.Item as typeof item;
    } catch (e) {
      throw new StateError(`checkpoint ${this.where(key)} cannot be read (${(e as Error).name})`, {
        cause: e,
        retryable: true,
      });
    }
    if (!item) {
      this.versions.set(key, 0);
      return undefined;
    }
    this.versions.set(key, Number(item.version?.N ?? 0));
    try {
      return JSON.parse(item.value?.S ?? '') as T;
    } catch (e) {
      throw new StateError(
        `checkpoint ${this.where(key)} is corrupt (${(e as Error).message}); refusing to start. Fix or remove it to continue`,
        { cause: e },
      );
    }
  }

  async put<T>(key: string, value: T): Promise<void> {
    if (!this.versions.has(key)) await this.get(key).catch(() => undefined);
    const expected = this.versions.get(key) ?? 0;
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { [this.keyAttr]: { S: key } },
          UpdateExpression: 'SET #v = :value, #n = :next',
          ConditionExpression: expected === 0 ? 'attribute_not_exists(#n)' : '#n = :expected',
          ExpressionAttributeNames: { '#v': 'value', '#n': 'version' },
          ExpressionAttributeValues: {
            ':value': { S: JSON.stringify(value) },
            ':next': { N: String(expected + 1) },
            ...(expected === 0 ? {} : { ':expected': { N: String(expected) } }),
          },
        }),
      );
      this.versions.set(key, expected + 1);
    } catch (e) {
      if ((e as Error).name === 'ConditionalCheckFailedException') {
        this.versions.delete(key);
        throw new StateError(
          `checkpoint ${this.where(key)} was changed by someone else since it was read; is a second collector using it?`,
          { cause: e },
        );
      }
      throw new StateError(`checkpoint ${this.where(key)} cannot be written (${(e as Error).name})`, {
        cause: e,
        retryable: true,
      });
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(
      new DeleteItemCommand({ TableName: this.table, Key: { [this.keyAttr]: { S: key } } }),
    );
    this.versions.set(key, 0);
  }
}

export function create(cfg: DynamodbStateConfig): StateStore {
  return new DynamodbStateStore(new DynamoDBClient(awsClientConfig(cfg.aws)), cfg.table, cfg.key_attribute);
}
