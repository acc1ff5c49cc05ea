import { isIP } from 'node:net';

/** `localhost`, 127.0.0.0/8 or ::1 (brackets allowed): traffic that never leaves this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || (isIP(h) === 4 && h.startsWith('127.'));
}
