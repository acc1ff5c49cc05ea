import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const LOGFERRY_BIN = join(import.meta.dirname, '../../bin/logferry.mjs');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the logferry CLI from the sources (never a stale dist/) without blocking this process, so
 * an in-process daemon or fake server can answer it while it runs.
 */
export function runCli(
  args: string[],
  opts: { cwd: string; env?: Record<string, string> },
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [LOGFERRY_BIN, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, LOGFERRY_FROM_SOURCE: '1', ...opts.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
