import { describe, expect, it } from 'vitest';
import { memoryLogger } from '../../platform/log.js';
import { create as createSlack } from '../slack/index.js';
import { slackAlertSchema } from '../slack/schema.js';
import { create } from './index.js';
import { webhookAlertSchema } from './schema.js';

async function warningsFor(cfg: Record<string, unknown>): Promise<string[]> {
  const log = memoryLogger();
  const parsed = webhookAlertSchema.parse({ type: 'webhook', name: 'soar', ...cfg });
  await (await create(parsed, new Map(), { log })).close();
  return log.entries.filter((e) => e.level === 'warn').map((e) => e.msg);
}

describe('webhook output: start-up warnings', () => {
  it('warns about unsigned requests and a plain-HTTP URL, without printing the URL', async () => {
    const warnings = await warningsFor({ webhook_url: 'http://soar.corp.example/hook?token=s3cr3t' });
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/^alert output soar: webhook requests are unsigned/);
    expect(warnings[1]).toMatch(/^alert output soar: the URL is http:\/\//);
    expect(warnings.join(' ')).not.toContain('s3cr3t');
  });

  it('says nothing for a signed https webhook', async () => {
    expect(
      await warningsFor({ webhook_url: 'https://soar.corp.example/hook', signing_secret: 'k-0123456789' }),
    ).toEqual([]);
  });

  it('warns about a plain-HTTP Slack webhook too', async () => {
    const log = memoryLogger();
    const cfg = slackAlertSchema.parse({
      type: 'slack',
      name: 'chat',
      webhook_url: 'http://hooks.example/T0/B0/x',
    });
    await (await createSlack(cfg, new Map(), { log })).close();
    expect(log.entries.map((e) => e.msg)).toEqual([
      expect.stringMatching(/^alert output chat: the URL is http:\/\//),
    ]);
  });
});
