import { describe, expect, it } from 'vitest';
import { describeError, ParseError } from '../../core/errors.js';
import type { Origin } from '../../core/event.js';
import { cloudWatchLogsEventSchema } from '../../parsers/cloudwatch_logs/schema.js';
import { parseEvent } from './events.js';

describe('parseEvent', () => {
  it('a Lambda trigger event of the wrong shape is a ParseError created with the invocation as origin', () => {
    const origin: Origin = { source: 'cw', type: 'cloudwatch_logs', ref: 'awslogs request req-1' };
    let thrown: unknown;
    try {
      parseEvent(cloudWatchLogsEventSchema, { Records: [] }, 'a CloudWatch Logs subscription event', origin);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ParseError);
    expect((thrown as ParseError).origin).toEqual(origin);
    expect(describeError(thrown)).toMatch(
      /^parse awslogs request req-1: not a CloudWatch Logs subscription event/,
    );
  });
});
