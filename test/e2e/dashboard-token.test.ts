import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { memoryLogger } from '../../src/core/log.js';
import { type Daemon, startDaemon } from '../../src/runtimes/daemon/daemon.js';
import { launch } from './browser.js';

const TOKEN = 'e2e-control-token-5f1c9a7d3b';

let dir: string;
let daemon: Daemon;
let browser: Browser;
let url: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-e2e-token-'));
  await writeFile(join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
  const config = parseConfig(
    `
state: { type: file, path: ${dir}/state }
dead_letter: { type: file, path: ${dir}/dlq }
sources:
  - { name: demo, type: demo, interval: 150ms, events_per_record: 5 }
sinks:
  - { name: daily, type: daily_files, path: ${dir}/logs, retention_days: 0 }
daemon: { status_listen: '127.0.0.1:0', status_token: { file: ${dir}/token } }
`,
    'e2e.yaml',
  );
  daemon = await startDaemon(config, { log: memoryLogger() });
  url = `http://127.0.0.1:${(daemon.server!.address() as AddressInfo).port}/`;
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  await daemon?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('dashboard with a control token', () => {
  it('shows status without the token, asks for it on pause, then pauses with it', async () => {
    const page = await browser.newPage();
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    await page.goto(url);
    const row = page.locator('tr[data-source="demo"]');
    await expect.poll(() => row.locator('td.state').textContent(), { timeout: 10_000 }).toBe('running');
    expect(await page.locator('#auth').isHidden()).toBe(true);

    await row.getByRole('button', { name: 'pause' }).click();
    await expect.poll(() => page.locator('#auth').isVisible(), { timeout: 5000 }).toBe(true);
    expect(daemon.runners[0]!.state).toBe('running');

    await page.locator('#token').fill(TOKEN);
    await page.getByRole('button', { name: 'save token' }).click();
    await row.getByRole('button', { name: 'pause' }).click();
    await expect.poll(() => row.locator('td.state').textContent(), { timeout: 5000 }).toBe('paused');
    expect(daemon.runners[0]!.state).toBe('paused');
    expect(await page.evaluate('sessionStorage.getItem("logferry-token")')).toBe(TOKEN);
    // The token travels in a header only.
    expect(requested.some((u) => u.includes(TOKEN))).toBe(false);
  });
});
