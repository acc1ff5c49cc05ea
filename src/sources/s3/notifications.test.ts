import { describe, expect, it } from 'vitest';
import { loadEvent } from '../../../test/events/load.js';
import { ParseError } from '../../core/errors.js';
import { decodeKey, normalizeEtag, objectsFromBody, objectsFromNotification } from './notifications.js';

const happyFace = {
  bucket: 'amzn-s3-demo-bucket',
  key: 'HappyFace.jpg',
  size: 1024,
  etag: 'd41d8cd98f00b204e9800998ecf8427e',
  versionId: '096fKKXTRTtl3on89fVO.nfljtsv6qko',
  sequencer: '0055AED6DCD90281E5',
  eventTime: '1970-01-01T00:00:00.000Z',
};

describe('S3 notifications', () => {
  it('reads the documented S3 event', () => {
    expect(objectsFromNotification(loadEvent('s3', 's3-put'))).toEqual({ objects: [happyFace], skipped: [] });
  });

  it('decodes keys and skips non-create events', () => {
    const n = objectsFromNotification(loadEvent('s3', 's3-mixed'));
    expect(n.objects.map((o) => o.key)).toEqual(['logs/dt=2024-01-01/my report.log']);
    expect(n.skipped).toEqual(['ObjectRemoved:Delete for s3://amzn-s3-demo-bucket/HappyFace.jpg']);
    expect(decodeKey('a%2Bb+c%20d')).toBe('a+b c d');
    expect(decodeKey('100%+sure')).toBe('100% sure');
    expect(normalizeEtag('"abc"')).toBe('abc');
  });

  it('skips s3:TestEvent', () => {
    expect(objectsFromNotification(loadEvent('s3', 's3-test-event'))).toEqual({
      objects: [],
      skipped: ['s3:TestEvent for bucket amzn-s3-demo-bucket'],
    });
  });

  it('reads EventBridge "Object Created" and skips other detail types', () => {
    const eb = loadEvent('s3', 'eventbridge-object-created');
    expect(objectsFromNotification(eb).objects).toEqual([
      {
        bucket: 'username-sfn-tutorial',
        key: 'test.png',
        size: 800704,
        etag: 'f31d8546bb67845b4d3048cde533b937',
        versionId: undefined,
        sequencer: '00621049BA9A8C712B',
        eventTime: '2022-02-19T01:36:58Z',
      },
    ]);
    expect(objectsFromNotification({ ...eb, 'detail-type': 'Object Deleted' })).toEqual({
      objects: [],
      skipped: ["EventBridge 'Object Deleted'"],
    });
  });

  it('unwraps SQS bodies, SNS messages and SNS-in-SQS', () => {
    const sqs = loadEvent<{ Records: { body: string }[] }>('s3', 'sqs-s3');
    expect(objectsFromBody(sqs.Records[0]!.body).objects).toEqual([happyFace]);
    expect(objectsFromBody(sqs.Records[1]!.body).skipped).toHaveLength(1);
    const snsInSqs = loadEvent<{ Records: { body: string }[] }>('s3', 'sqs-sns-s3');
    expect(objectsFromBody(snsInSqs.Records[0]!.body).objects).toEqual([happyFace]);
    expect(objectsFromNotification(loadEvent('s3', 'sns-s3')).objects).toEqual([happyFace]);
    // The whole SQS Lambda event at once works too.
    expect(objectsFromNotification(sqs).objects).toEqual([happyFace]);
  });

  it('says clearly when a body is not JSON or not a notification', () => {
    const bad = loadEvent<{ Records: { body: string }[] }>('s3', 'sqs-sns-s3').Records[1]!.body;
    expect(() => objectsFromBody(bad)).toThrow(ParseError);
    expect(() => objectsFromBody(bad)).toThrow(
      /^message body is not JSON \(.*; starts "this is not json"\)$/,
    );
    expect(() => objectsFromBody('{"hello":1}')).toThrow('not an S3 notification (keys: hello)');
    expect(() => objectsFromBody('{"Type":"Notification","Message":"oops"}')).toThrow(
      /^SNS Message is not JSON/,
    );
  });
});
