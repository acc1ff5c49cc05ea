import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Used when the npm-shipped Chromium cannot start (an unusual libc or CPU); Debian's package path. */
const SYSTEM_CHROMIUM = '/usr/bin/chromium';

const HEADLESS_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export class BrowserLaunchError extends Error {
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
    this.name = 'BrowserLaunchError';
  }
}

/**
 * A headless Chromium for the browser tests, with nothing but `npm ci`: the binary comes from
 * `@sparticuz/chromium` (it unpacks itself into /tmp on first use). `CHROMIUM_PATH` picks a
 * browser explicitly; a system Chromium is the fallback when the packaged one does not start.
 */
export async function launchBrowser(): Promise<Browser> {
  if (process.env.CHROMIUM_PATH) return launchAt(process.env.CHROMIUM_PATH, HEADLESS_ARGS);
  let packaged: unknown;
  try {
    const { default: sparticuz } = await import('@sparticuz/chromium');
    return await launchAt(await sparticuz.executablePath(), [...sparticuz.args, ...HEADLESS_ARGS]);
  } catch (e) {
    packaged = e;
  }
  if (existsSync(SYSTEM_CHROMIUM)) return launchAt(SYSTEM_CHROMIUM, HEADLESS_ARGS);
  throw new BrowserLaunchError(
    `no browser: @sparticuz/chromium did not start (${(packaged as Error).message.split('\n')[0]}) and ${SYSTEM_CHROMIUM} is absent`,
    { cause: packaged },
  );
}

function launchAt(executablePath: string, args: string[]): Promise<Browser> {
  return chromium.launch({ executablePath, args: [...new Set(args)], headless: true });
}
