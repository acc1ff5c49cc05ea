import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { redact, Secret } from '../config/secrets.js';
import type { Alert } from '../core/contracts.js';
import type { LogEvent } from '../core/event.js';
import { memoryLogger } from '../platform/log.js';
import { RuleEngine } from '../rules/engine.js';
import { parseRule } from '../rules/load.js';
import { MemoryWindowStore } from '../rules/window.js';
import { MemoryDeadLetterStore, MemorySink } from '../testing/memory.js';
import { FakeSlack } from '../testing/slack-fake.js';
import { FakeWebhookReceiver } from '../testing/webhook-fake.js';
import { post } from './http.js';
import { AlertRouter } from './router.js';
import { alertEvent, SinkAlertOutput } from './sink/index.js';
import { SlackAlertOutput, slackPayload } from './slack/index.js';
import { snsMessage, snsSubject } from './sns/index.js';
import type { AlertOutput } from './types.js';
import { WebhookAlertOutput } from './webhook/index.js';

const RULE = `id: aws-cloudtrail-tampering
title: CloudTrail logging stopped, deleted or changed
description: A trail was stopped.
severity: high
tags: [attack.t1562.008, attack.defense_evasion]
dataset: aws.cloudtrail
condition: { aws.cloudtrail.eventName: StopLogging }
`;

async function makeAlert(over: Partial<Alert> = {}): Promise<Alert> {
  const ev: LogEvent = {
    id: 'evt-1',
    dataset: 'aws.cloudtrail',
    timestamp: Date.parse('2026-01-05T10:05:31Z'),
    origin: {
      source: 's3',
      type: 's3',
      ref: 's3://trail-bucket/AWSLogs/123456789012/CloudTrail/eu-west-1/2026/01/05/x.json.gz',
    },
    doc: {
      '@timestamp': '2026-01-05T10:05:31.000Z',
      cloud: { region: 'eu-west-1', account: { id: '123456789012' } },
      source: { ip: '203.0.113.77' },
      user: { name: 'Ops' },
      aws: {
        cloudtrail: {
          eventName: 'StopLogging',
          eventID: '2d3c4b5a-6f7e-4d8c-9b0a-1f2e3d4c5b6a',
          userIdentity: { arn: 'arn:aws:sts::123456789012:assumed-role/Ops/ops-session' },
        },
      },
    },
  };
  const engine = new RuleEngine([parseRule(RULE, 'r.yaml').rule], {
    store: new MemoryWindowStore(),
    log: memoryLogger(),
  });
  const [a] = await engine.evaluate([ev]);
  return { ...a!, ...over };
}

function router(outputs: AlertOutput[], extra: Partial<ConstructorParameters<typeof AlertRouter>[1]> = {}) {
  const deadLetter = new MemoryDeadLetterStore();
  const log = memoryLogger();
  const r = new AlertRouter(new Map(outputs.map((o) => [o.name, o])), {
    routes: [],
    maxAttempts: 3,
    backoff: { baseMs: 1, maxMs: 5 },
    deadLetter,
    log,
    ...extra,
  });
  return { r, deadLetter, log };
}

describe('alert text', () => {
  it('builds a readable alert with who, where and a link back to the event', async () => {
    const a = await makeAlert();
    expect(a.summary).toBe(
      'CloudTrail logging stopped, deleted or changed by Ops at 203.0.113.77, 123456789012, eu-west-1',
    );
    expect(a.link).toBe(
      'https://console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/2d3c4b5a-6f7e-4d8c-9b0a-1f2e3d4c5b6a',
    );
  });

  it('SNS subject: printable ASCII, one line, at most 100 characters; body has text and the event JSON', async () => {
    const a = await makeAlert({ summary: `Ünïcode\nnewline ${'x'.repeat(200)}` });
    const s = snsSubject(a, '[prod]');
    expect(s.length).toBeLessThanOrEqual(100);
    expect(s).toMatch(/^\[prod\] HIGH: Unicode newline x+\.\.\.$/);
    const body = snsMessage(a, true);
    expect(body).toContain('Rule:     aws-cloudtrail-tampering (attack.t1562.008, attack.defense_evasion)');
    expect(JSON.parse(body.slice(body.indexOf('Event (JSON):\n') + 14))).toEqual(a.event);
  });

  it('alerts written to a sink are events of dataset alerts', async () => {
    const a = await makeAlert();
    const sink = new MemorySink('archive');
    const { r } = router([new SinkAlertOutput('to-archive', sink)]);
    await r.deliver([a]);
    const stored = sink.byId.get(a.id)!;
    expect(stored.dataset).toBe('alerts');
    expect(stored.doc).toMatchObject({
      event: { kind: 'alert', dataset: 'alerts' },
      rule: { id: 'aws-cloudtrail-tampering' },
    });
    expect(alertEvent(a).doc.related).toEqual({ event: a.event });
  });
});

describe('output configuration', () => {
  it('a sink output naming no configured sink is a config error', async () => {
    const { create } = await import('./sink/index.js');
    expect(() => create({ type: 'sink', name: 'to-archive', sink: 'nope' }, new Map())).toThrow(
      "alert output 'to-archive': no sink named 'nope'",
    );
  });
});

describe('Slack output against a strict fake', () => {
  let slack: FakeSlack;
  beforeEach(async () => {
    slack = await new FakeSlack().start();
  });
  afterEach(() => slack.stop());

  it('posts a message Slack accepts: text + header, section fields, button, context', async () => {
    const a = await makeAlert();
    const { r, deadLetter } = router([new SlackAlertOutput('slack', new Secret(slack.url), 5000)]);
    await r.deliver([a]);
    expect(deadLetter.entries).toEqual([]);
    const [msg] = slack.messages;
    expect(msg!.text).toBe(`High: ${a.summary}`);
    const blocks = msg!.blocks as Record<string, unknown>[];
    expect(blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'actions', 'context']);
    expect(JSON.stringify(blocks[2])).toContain('*Who*\\nOps');
  });

  it('the fake refuses what Slack refuses', async () => {
    const post = (body: unknown, type = 'application/json') =>
      fetch(slack.url, {
        method: 'POST',
        headers: { 'content-type': type },
        body: JSON.stringify(body),
      }).then(async (r) => [r.status, await r.text()]);
    expect(await post({})).toEqual([400, 'no_text']);
    expect(await post({ text: 'x' }, 'text/plain')).toEqual([400, 'invalid_payload']);
    expect(await post({ blocks: [{ type: 'header', text: { type: 'mrkdwn', text: 'x' } }] })).toEqual([
      400,
      'invalid_blocks',
    ]);
    expect(
      await post({ blocks: [{ type: 'section', fields: Array(11).fill({ type: 'mrkdwn', text: 'x' }) }] }),
    ).toEqual([400, 'invalid_blocks']);
    const long = slackPayload(await makeAlert({ title: 'T'.repeat(400), summary: 'S'.repeat(5000) }));
    expect(await post(long)).toEqual([200, 'ok']);
  });

  it('waits for Retry-After on 429 and delivers', async () => {
    slack.failNext(1, { status: 429, body: 'rate_limited', headers: { 'retry-after': '1' } });
    const { r, deadLetter } = router([new SlackAlertOutput('slack', new Secret(slack.url), 5000)]);
    await r.deliver([await makeAlert()]);
    expect(slack.requests).toBe(2);
    expect(slack.messages).toHaveLength(1);
    expect(deadLetter.entries).toEqual([]);
  });

  it('dead-letters an alert Slack refuses (400), without retrying and without the URL', async () => {
    slack.failNext(1, { status: 400, body: 'invalid_payload' });
    const { r, deadLetter } = router([new SlackAlertOutput('slack', new Secret(slack.url), 5000)]);
    const a = await makeAlert();
    await r.deliver([a]);
    expect(slack.requests).toBe(1);
    expect(deadLetter.entries).toHaveLength(1);
    expect(deadLetter.entries[0]).toMatchObject({
      kind: 'alert',
      sink: 'slack',
      attempts: 1,
      retryable: false,
      event: { id: a.id },
    });
    expect(deadLetter.entries[0]!.error).toBe('deliver: slack: HTTP 400 invalid_payload');
    expect(JSON.stringify(deadLetter.entries)).not.toContain('XXXXXXXX');
  });
});

describe('webhook output against a signature-checking receiver', () => {
  let hook: FakeWebhookReceiver;
  beforeEach(async () => {
    hook = await new FakeWebhookReceiver('whsec_3b1f0c').start();
  });
  afterEach(() => hook.stop());

  it('signs with HMAC-SHA256 and the receiver verifies it', async () => {
    const a = await makeAlert();
    const { r, deadLetter } = router([
      new WebhookAlertOutput('hook', new Secret(hook.url), new Secret('whsec_3b1f0c'), 5000),
    ]);
    await r.deliver([a]);
    expect(deadLetter.entries).toEqual([]);
    expect(hook.alerts).toEqual([JSON.parse(JSON.stringify(a))]);
    expect(hook.received[0]!.headers['x-logferry-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
  });

  it('a wrong secret is refused (401) and the alert is dead-lettered', async () => {
    const { r, deadLetter } = router([
      new WebhookAlertOutput('hook', new Secret(hook.url), new Secret('wrong'), 5000),
    ]);
    await r.deliver([await makeAlert()]);
    expect(hook.received).toEqual([]);
    expect(deadLetter.entries[0]!.error).toBe('deliver: hook: HTTP 401 bad signature');
  });

  it('retries 5xx and dropped connections, then delivers once', async () => {
    hook.failNext(1, { status: 503, body: 'busy' }).failNext(1, { status: 0, body: '', destroy: true });
    const { r, deadLetter } = router([
      new WebhookAlertOutput('hook', new Secret(hook.url), new Secret('whsec_3b1f0c'), 5000),
    ]);
    await r.deliver([await makeAlert()]);
    expect(hook.requests).toBe(3);
    expect(hook.alerts).toHaveLength(1);
    expect(deadLetter.entries).toEqual([]);
  });

  it('an output that is down: retried, then dead-lettered, never dropped; the URL never shows', async () => {
    const url = hook.url;
    await hook.stop();
    const { r, deadLetter, log } = router([new WebhookAlertOutput('hook', new Secret(url), undefined, 2000)]);
    const a = await makeAlert();
    await r.deliver([a]);
    expect(deadLetter.entries).toHaveLength(1);
    expect(deadLetter.entries[0]).toMatchObject({
      kind: 'alert',
      sink: 'hook',
      attempts: 3,
      retryable: true,
    });
    expect(deadLetter.entries[0]!.error).toMatch(/^deliver: hook: connection failed \(ECONNREFUSED\)$/);
    expect(log.entries.map((e) => e.msg)).toEqual([
      'alert not delivered after 3 attempt(s): deliver: hook: connection failed (ECONNREFUSED)',
    ]);
    const logged = JSON.stringify(log.entries);
    expect(logged).not.toContain('tok_9f8e7d6c5b4a');
    expect(JSON.stringify(deadLetter.entries)).not.toContain('tok_9f8e7d6c5b4a');
  });
});

describe('HTTP answers', () => {
  it('reads only the start of an error body, however long the endpoint keeps sending', async () => {
    // 64 MB in 64 KB writes that wait for the client: it is all sent only if the client reads it all.
    const piece = Buffer.alloc(64 * 1024, 'x');
    let closed: (all: boolean) => void = () => {};
    const sentAll = new Promise<boolean>((r) => {
      closed = r;
    });
    const server = createServer((req, res) => {
      req.resume();
      res.writeHead(400, { 'content-type': 'text/plain' });
      let left = 1024;
      const write = () => {
        while (left > 0) {
          left--;
          if (!res.write(piece)) return void res.once('drain', write);
        }
        res.end();
      };
      res.on('close', () => closed(res.writableFinished));
      write();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const failure = await post('webhook:big', `http://127.0.0.1:${port}/hook`, '{}', {}, 30_000);
      expect(failure?.retryable).toBe(false);
      expect(failure?.error.message).toBe(`webhook:big: HTTP 400 ${'x'.repeat(200)}`);
      expect(await sentAll).toBe(false);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  }, 60_000);
});

describe('routing', () => {
  class Collect implements AlertOutput {
    got: string[] = [];
    constructor(readonly name: string) {}
    async send(alerts: readonly Alert[]) {
      this.got.push(...alerts.map((a) => a.rule.id));
      return [];
    }
    async close() {}
  }

  it('by severity and tag; alerts matching no route go to the default outputs', async () => {
    const pager = new Collect('pager');
    const soc = new Collect('soc');
    const archive = new Collect('archive');
    const { r } = router([pager, soc, archive], {
      routes: [
        { min_severity: 'critical', outputs: ['pager'] },
        { tags: ['attack.t1562*'], outputs: ['soc'] },
      ],
      defaultOutputs: ['archive'],
    });
    const high = await makeAlert();
    const critical = await makeAlert({ severity: 'critical', rule: { ...high.rule, id: 'crit', tags: [] } });
    const low = await makeAlert({ severity: 'low', rule: { ...high.rule, id: 'low', tags: ['aws.sns'] } });
    await r.deliver([high, critical, low]);
    expect(pager.got).toEqual(['crit']);
    expect(soc.got).toEqual(['aws-cloudtrail-tampering']);
    expect(archive.got).toEqual(['low']);
  });

  it('config: outputs and routes validate, webhook URLs are redacted in status output', () => {
    const cfg = parseConfig(
      `sources: [{ type: inbox, name: in, path: ./in }]
sinks: [{ type: stdout, name: out }]
rules: { paths: [rules] }
alerts:
  outputs:
    - { type: slack, name: slack, webhook_url: 'https://hooks.slack.com/services/T0/B0/secret-token' }
    - { type: webhook, name: hook, webhook_url: { env: HOOK_URL }, signing_secret: { env: HOOK_SECRET } }
  routes:
    - { min_severity: high, outputs: [slack, hook] }
`,
      'c.yaml',
      {},
    );
    expect(JSON.stringify(redact(cfg))).not.toContain('secret-token');
    expect(() =>
      parseConfig(
        `sources: [{ type: inbox, name: in, path: ./in }]
sinks: [{ type: stdout, name: out }]
alerts:
  outputs: [{ type: sink, name: a, sink: out }]
  routes: [{ outputs: [nope] }]
`,
        'c.yaml',
        {},
      ),
    ).toThrow("c.yaml:5: alerts.routes[0].outputs[0]: no alert output named 'nope'");
  });
});
