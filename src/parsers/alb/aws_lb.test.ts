import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../core/errors.js';
import type { EventDraft } from '../../core/event.js';
import { eventId } from '../../core/ids.js';
import { defaultLimits } from '../../core/limits.js';
import { endpoint } from '../../formats/aws_lb/access.js';
import { isoMillis, num, splitRequest, tlsVersion } from '../../formats/aws_lb/fields.js';
import { tokenize } from '../../formats/aws_lb/tokenize.js';
import { type Doc, gzipUpTo, runParser, s3Item } from '../../testing/parse-harness.js';
import { create as createElb, ElbClassicParser } from '../elb_classic/index.js';
import { create as createNlb, NlbParser } from '../nlb/index.js';
import { AlbParser, create as createAlb } from './index.js';

const fixture = (dir: string) =>
  readFileSync(join(import.meta.dirname, '..', dir, 'fixtures', 'aws-docs.log'));
const docs = (r: { drafts: { doc: unknown }[] }) => r.drafts.map((d) => d.doc as Doc);
const ALB_KEY =
  'AWSLogs/123456789012/elasticloadbalancing/us-east-2/2018/07/02/123456789012_elasticloadbalancing_us-east-2_app.my-loadbalancer.50dc6c495c0c9188_20180702T2225Z_192.168.131.39_2k4qfb2n.log.gz';

describe('tokenize', () => {
  it('splits on spaces and keeps quoted fields whole', () => {
    expect(tokenize('a "b c" - "" "-" d')).toEqual(['a', 'b c', '-', '', '-', 'd']);
    expect(tokenize('x "- - - " y')).toEqual(['x', '- - - ', 'y']);
    expect(tokenize('"h2","http/1.1"')).toEqual(['h2","http/1.1']);
    expect(tokenize('ua "Mozilla \\"quoted\\" x" z')).toEqual(['ua', 'Mozilla "quoted" x', 'z']);
    expect(tokenize('cut "never closed')).toBeUndefined();
    // Backslashes before a quote: an even run escapes nothing, `\"` inside a field is a quote.
    expect(tokenize('a "x\\\\" b')).toEqual(['a', 'x\\\\', 'b']);
    expect(tokenize('"a\\\\"b" c')).toEqual(['a\\"b', 'c']);
  });

  it('reads numbers as Number does, `-` and `-1` as absent', () => {
    for (const v of [
      '0',
      '200',
      '007',
      '123456789012345',
      '1234567890123456',
      '',
      '0.003',
      '1e3',
      ' 5',
      '0x10',
      '-5',
      '5.',
      '\uff19',
      '1e400',
      'NaN',
      '9'.repeat(400),
    ]) {
      const n = Number(v);
      expect(num(v), JSON.stringify(v)).toBe(Number.isFinite(n) ? n : undefined);
    }
    for (const v of [undefined, '-', '-1']) expect(num(v)).toBeUndefined();
  });

  it('reads ip:port endpoints, the port after the last colon', () => {
    const at = (ip: string, port?: number) => ({ ip, port, address: ip });
    expect(endpoint('192.168.131.39:2817')).toEqual(at('192.168.131.39', 2817));
    expect(endpoint('[2001:db8::1]:443')).toEqual(at('[2001:db8::1]', 443));
    expect(endpoint('host:')).toEqual(at('host', 0));
    expect(endpoint('h:0x50')).toEqual(at('h', 80));
    expect(endpoint('h:1.5')).toEqual(at('h:1.5'));
    expect(endpoint(':80')).toEqual(at(':80'));
    expect(endpoint('a:b')).toEqual(at('a:b'));
    expect(endpoint('10.0.0.1')).toEqual(at('10.0.0.1'));
    expect(endpoint('-')).toBeUndefined();
  });

  it('splits requests and TLS versions', () => {
    expect(splitRequest('GET https://www.example.com:443/ HTTP/1.1')).toEqual({
      method: 'GET',
      url: 'https://www.example.com:443/',
      version: '1.1',
    });
    expect(splitRequest('- - - ')).toEqual({});
    expect(splitRequest('- http://myalb.example.com:80- -')).toEqual({ url: 'http://myalb.example.com:80-' });
    expect(tlsVersion('TLSv1.2')).toEqual({ version_protocol: 'tls', version: '1.2' });
    expect(tlsVersion('tlsv12')).toEqual({ version_protocol: 'tls', version: '1.2' });
    expect(tlsVersion('-')).toBeUndefined();
  });
});

describe('alb parser', () => {
  it('maps every documented example line', async () => {
    const r = await runParser(new AlbParser(), s3Item(gzipSync(fixture('alb')), { key: ALB_KEY }));
    expect(r.error).toBeUndefined();
    expect(r.rejected).toEqual([]);
    const [http, https, h2, , , lambdaOk, lambdaFail] = docs(r);
    expect(https).toMatchObject({
      source: { ip: '192.168.131.39', port: 2817 },
      destination: { ip: '10.0.0.1', port: 80 },
      http: {
        request: { method: 'GET', bytes: 0 },
        response: { status_code: 200, bytes: 57 },
        version: '1.1',
      },
      url: { original: 'https://www.example.com:443/', domain: 'www.example.com' },
      user_agent: { original: 'curl/7.46.0' },
      tls: { version: '1.2', version_protocol: 'tls', cipher: 'ECDHE-RSA-AES128-GCM-SHA256' },
      cloud: { provider: 'aws', account: { id: '123456789012' }, region: 'us-east-2' },
      aws: {
        elb: {
          type: 'application',
          protocol: 'https',
          name: 'app/my-loadbalancer/50dc6c495c0c9188',
          request_processing_time: 0.086,
          target_processing_time: 0.048,
          response_processing_time: 0.037,
          matched_rule_priority: 1,
          actions_executed: ['authenticate', 'forward'],
          target_port_list: ['10.0.0.1:80'],
          target_status_code_list: ['200'],
          chosen_cert_arn:
            'arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012',
        },
      },
    });
    // The copies of ECS fields (and ALB's classic-ELB aliases) are opt-in (aws_copies).
    for (const copy of ['elb_status_code', 'ssl_cipher', 'ssl_protocol', 'backend_processing_time'])
      expect(https!.aws.elb[copy], copy).toBeUndefined();
    expect(http!.tls).toBeUndefined();
    expect(h2!.aws.elb.redirect_url).toBe('https://example.com:80/');
    expect(h2!.http.version).toBe('2.0');
    expect(lambdaOk!.destination).toBeUndefined();
    expect(lambdaFail!.aws.elb.error_reason).toBe('LambdaInvalidResponse');
    expect(lambdaFail!.aws.elb.target_status_code).toBeUndefined();
    expect(lambdaFail!.event.outcome).toBe('failure');
    expect(r.drafts[0]!.timestamp).toBe(Date.parse('2018-07-02T22:23:00.186641Z'));
    // Ids hash the same input as ever (bucket, key, etag, line): stored events keep their ids.
    const first = r.drafts[0]!;
    expect(eventId(first.dataset, first.idParts)).toBe(
      eventId('aws.alb', ['logs-bucket', ALB_KEY, 'etag1', 1]),
    );
  });

  it('reads times as Date.parse does', () => {
    for (const t of [
      '2018-07-02T22:23:00.186641Z',
      '2018-07-02T22:23:00Z',
      '2018-07-02T22:23:00.1Z',
      '2018-07-02T22:23:00.12Z',
      '2018-02-31T10:00:00.000Z',
      '2018-07-02T24:00:00Z',
      '2018-07-02T23:59:60Z',
      '2018-13-02T22:23:00Z',
      '0050-07-02T22:23:00Z',
      '2018-07-02T22:23:00.Z',
      '2018-07-02T22:23:00.1x3Z',
      '2018-07-02 22:23:00Z',
      '2018-07-02T22:23:00.186641+01:00',
    ]) {
      const parsed = Date.parse(t);
      expect(isoMillis(t), t).toBe(Number.isNaN(parsed) ? undefined : parsed);
    }
  });

  it('treats -1 processing times as absent and keeps newer and unknown trailing fields', async () => {
    const line =
      'http 2025-03-01T10:03:17.218099Z app/MyALB1/240dbdc5244653c9 205.210.31.158:61084 - -1 -1 -1 400 - 0 272 "- http://myalb1-878688131.us-east-1.elb.amazonaws.com:80- -" "-" - - - "-" "-" "-" - 2025-03-01T10:03:16.682000Z "-" "-" "-" "-" "-" "-" "-" TID_6cfb27fd2ef25c42932bd6e0ff56d631 "-" "-" "-" future1 "future 2"';
    const r = await runParser(new AlbParser(), s3Item(line));
    expect(r.rejected).toEqual([]);
    const elb = docs(r)[0]!.aws.elb;
    expect(elb.request_processing_time).toBeUndefined();
    expect(elb.target_processing_time).toBeUndefined();
    expect(elb.conn_trace_id).toBe('TID_6cfb27fd2ef25c42932bd6e0ff56d631');
    expect(elb.extra_fields).toEqual(['future1', 'future 2']);
    expect(docs(r)[0]!.http.response.status_code).toBe(400);
  });

  it('sets aside a line with the wrong field count and goes on', async () => {
    const lines = fixture('alb').toString('utf8').trim().split('\n');
    const text = [lines[0], 'http 2018-07-02T22:23:00.186641Z app/x/1 1.2.3.4:5 - 0.1', lines[1]].join('\n');
    const r = await runParser(new AlbParser(), s3Item(text));
    expect(r.drafts).toHaveLength(2);
    expect(r.rejected).toHaveLength(1);
    expect(r.rejected[0]!.ref).toBe('line 2');
    expect(r.rejected[0]!.error.message).toBe(
      'line 2 is not a ALB access log line: it has 6 fields, ALB lines have at least 18',
    );
    expect(r.rejected[0]!.data).toMatch(/^http 2018/);
  });

  it('delivers lines before damaged gzip and reports the compressed offset', async () => {
    const good = gzipUpTo(fixture('alb'));
    const damaged = Buffer.concat([good, Buffer.alloc(32, 0xff)]);
    const r = await runParser(new AlbParser(), s3Item(damaged, { chunk: good.length }));
    expect(r.drafts).toHaveLength(7);
    expect(r.error).toBeInstanceOf(ParseError);
    expect((r.error as ParseError).position).toMatch(/^compressed byte \d+$/);
  });
});

describe('classic elb parser', () => {
  it('maps the documented HTTP, HTTPS, TCP and SSL lines', async () => {
    const r = await runParser(new ElbClassicParser(), s3Item(fixture('elb_classic')));
    expect(r.rejected).toEqual([]);
    const [http, https, tcp, ssl] = docs(r);
    expect(http).toMatchObject({
      source: { ip: '192.168.131.39', port: 2817 },
      http: { request: { method: 'GET' }, response: { status_code: 200, bytes: 29 }, version: '1.1' },
      url: { original: 'http://www.example.com:80/' },
      aws: {
        elb: {
          type: 'classic',
          name: 'my-loadbalancer',
          request_processing_time: 0.000073,
          backend_processing_time: 0.001048,
          response_processing_time: 0.000057,
          backend_status_code: 200,
        },
      },
    });
    expect(https!.tls).toEqual({ version_protocol: 'tls', version: '1.2', cipher: 'DHE-RSA-AES128-SHA' });
    expect(tcp!.http.response).toEqual({ bytes: 305 });
    expect(tcp!.url).toBeUndefined();
    expect(tcp!.aws.elb.protocol).toBe('tcp');
    expect(ssl!.tls.cipher).toBe('ECDHE-ECDSA-AES128-GCM-SHA256');
    expect(ssl!.aws.elb.ssl_cipher).toBeUndefined();
    expect(http!.aws.elb.elb_status_code).toBeUndefined();
  });

  it('rejects a line with 13 fields', async () => {
    const line =
      '2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.1 0.2 0.3 200 200 0 29 "GET http://x/ HTTP/1.1" extra';
    const r = await runParser(new ElbClassicParser(), s3Item(line));
    expect(r.drafts).toEqual([]);
    expect(r.rejected[0]!.error.message).toMatch(/has 13 fields, classic ELB lines have 12 or 15/);
  });
});

describe('nlb parser', () => {
  it('maps both documented TLS lines', async () => {
    const r = await runParser(new NlbParser(), s3Item(fixture('nlb')));
    expect(r.rejected).toEqual([]);
    const [plain, alpn] = docs(r);
    expect(plain).toMatchObject({
      source: { ip: '72.21.218.154', port: 51341, bytes: 98 },
      destination: { ip: '172.100.100.185', port: 443, bytes: 246 },
      tls: {
        version: '1.2',
        cipher: 'ECDHE-RSA-AES128-SHA',
        client: { server_name: 'my-network-loadbalancer-c6e77e28c25b2234.elb.us-east-2.amazonaws.com' },
      },
      event: { duration: 5_000_000 },
      aws: {
        elb: {
          type: 'network',
          connection_time_ms: 5,
          tls_handshake_time_ms: 2,
          listener: 'g3d4b5e8bb8464cd',
        },
      },
    });
    expect(plain!.aws.elb.alpn_fe_protocol).toBeUndefined();
    expect(alpn!.aws.elb.alpn_client_preference_list).toEqual(['h2', 'http/1.1']);
    expect(r.drafts[0]!.timestamp).toBe(Date.parse('2018-12-20T02:59:40Z'));
  });
});

describe('aws_copies (load-balancer parser option)', () => {
  const bytesOf = (r: { drafts: { doc: unknown }[] }) =>
    r.drafts.reduce((n, d) => n + JSON.stringify(d.doc).length, 0);

  it('adds the aws.elb copies of ECS fields back when asked, and only then', async () => {
    const item = () => s3Item(gzipSync(fixture('alb')), { key: ALB_KEY });
    const lean = await runParser(createAlb({}), item());
    const full = await runParser(createAlb({ aws_copies: true }), item());
    const elb = docs(full)[1]!.aws.elb;
    expect(elb).toMatchObject({
      elb_status_code: 200,
      backend_status_code: 200,
      target_processing_time: 0.048,
      backend_processing_time: 0.048,
      ssl_cipher: 'ECDHE-RSA-AES128-GCM-SHA256',
      ssl_protocol: 'TLSv1.2',
    });
    expect(docs(lean)[1]!.aws.elb.elb_status_code).toBeUndefined();
    expect(bytesOf(lean)).toBeLessThan(bytesOf(full));

    const classic = docs(await runParser(createElb({ aws_copies: true }), s3Item(fixture('elb_classic'))));
    expect(classic[3]!.aws.elb.ssl_cipher).toBe('ECDHE-ECDSA-AES128-GCM-SHA256');
    expect(classic[0]!.aws.elb.elb_status_code).toBe(200);
  });

  it('moves NLB copies the same way', async () => {
    const lean = docs(await runParser(createNlb({}), s3Item(fixture('nlb'))))[0]!;
    const full = docs(await runParser(createNlb({ aws_copies: true }), s3Item(fixture('nlb'))))[0]!;
    expect(full.aws.elb.received_bytes).toBeTypeOf('number');
    expect(full.aws.elb.tls_cipher).toBeTypeOf('string');
    expect(lean.source.bytes).toBe(full.aws.elb.received_bytes);
    expect(lean.tls.cipher).toBe(full.aws.elb.tls_cipher);
    for (const copy of ['received_bytes', 'sent_bytes', 'tls_cipher', 'tls_protocol_version'])
      expect(lean.aws.elb[copy], copy).toBeUndefined();
  });

  it('refuses an unknown option by name', () => {
    expect(() => createAlb({ aws_copy: true })).toThrow(/aws_copy/);
  });
});

describe('drafts by chunk (Parser.parseChunks)', () => {
  it('hands over the lines of each decoded chunk together, the same drafts parse gives one by one', async () => {
    // Lines over several chunks of the object, and one bad line among them.
    const lines = fixture('alb').toString('utf8').trim().split('\n');
    const text = `${Array.from({ length: 300 }, (_, i) => lines[i % lines.length]).join('\n')}\nnot a line\n`;
    const parser = new AlbParser();
    const rejected: string[] = [];
    const ctx = {
      limits: defaultLimits,
      reject: async (part: { ref: string }) => void rejected.push(part.ref),
    };
    const chunks: EventDraft[][] = [];
    for await (const chunk of parser.parseChunks(s3Item(text, { key: ALB_KEY, chunk: 8192 }), ctx))
      chunks.push([...chunk]);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.length).toBeLessThan(30);
    const one = await runParser(parser, s3Item(text, { key: ALB_KEY, chunk: 8192 }));
    expect(chunks.flat().map((d) => [d.idParts, d.timestamp, d.doc])).toEqual(
      one.drafts.map((d) => [d.idParts, d.timestamp, d.doc]),
    );
    expect(rejected).toEqual(['line 301']);
  });
});
