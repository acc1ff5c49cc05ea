import { isIP } from 'node:net';

/** `localhost`, 127.0.0.0/8 or ::1 (brackets allowed): traffic that never leaves this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || (isIP(h) === 4 && h.startsWith('127.'));
}

/** Whether `url` is plain HTTP to another machine (a malformed URL is left to fail where it is used). */
export function isClearTextRemote(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' && !isLoopbackHost(u.hostname);
  } catch {
    return false;
  }
}

/** The start-up warning for an alert output whose URL would send alerts in clear text. */
export function clearTextWarning(output: string, url: string): string | undefined {
  return isClearTextRemote(url)
    ? `alert output ${output}: the URL is http://, so alerts (and any token in the URL) cross the network in clear text; use https://`
    : undefined;
}
