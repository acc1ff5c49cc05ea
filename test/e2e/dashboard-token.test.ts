import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { memoryLogger } from '../../src/platform/log.js';
import { type Daemon, startDaemon } from '../../src/runtimes/daemon/daemon.js';
import { launchBrowser as launch } from '../../src/testing/browser.js';

const TOKEN = 'e2e-control-token-5f1c9a7d3b';

let dir: string;
let browser: Browser;
const daemons: Daemon[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-e2e-token-'));
  await writeFile(join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  for (const d of daemons) await d.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A daemon with a token file, listening on `listen`; returns it and the dashboard URL on 127.0.0.1. */
async function daemonWithToken(listen: string, name: string): Promise<{ daemon: Daemon; url: string }> {
  const config = parseConfig(
    `
state: { type: file, path: ${dir}/${name}/state }
dead_letter: { type: file, path: ${dir}/${name}/dlq }
sources:
  - { name: demo, type: demo, interval: 150ms, events_per_record: 5 }
sinks:
  - { name: daily, type: daily_files, path: ${dir}/${name}/logs, retention_days: 0 }
daemon: { status_listen: '${listen}', status_token: { file: ${dir}/token } }
`,
    'e2e.yaml',
  );
  const daemon = await startDaemon(config, { log: memoryLogger() });
  daemons.push(daemon);
  return { daemon, url: `http://127.0.0.1:${(daemon.server!.address() as AddressInfo).port}/` };
}

describe('dashboard with a control token', () => {
  it('on loopback: shows status without the token, asks for it on pause, then pauses with it', async () => {
    const { daemon, url } = await daemonWithToken('127.0.0.1:0', 'loopback');
    const page = await browser.newPage();
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    await page.goto(`${url}#overview`);
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

  it('beyond loopback: asks for the token before showing anything, then shows status', async () => {
    const { url } = await daemonWithToken('0.0.0.0:0', 'network');
    const page = await browser.newPage();
    await page.goto(`${url}#overview`);
    await expect.poll(() => page.locator('#auth').isVisible(), { timeout: 5000 }).toBe(true);
    expect(await page.locator('#conn').textContent()).toBe('token needed');
    expect(await page.locator('tr[data-source="demo"]').count()).toBe(0);
    await page.locator('#token').fill(TOKEN);
    await page.getByRole('button', { name: 'save token' }).click();
    const row = page.locator('tr[data-source="demo"]');
    await expect.poll(() => row.locator('td.state').textContent(), { timeout: 10_000 }).toBe('running');
    expect(await page.locator('#conn').textContent()).toBe('live');
  });
});
