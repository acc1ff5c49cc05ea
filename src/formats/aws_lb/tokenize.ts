/**
 * Splits one load-balancer access-log line into fields: separated by single spaces, a field that
 * starts with `"` runs to its closing quote (spaces inside are kept, the outer quotes are dropped).
 * Returns undefined when a quoted field is never closed: the line was cut or is not a log line.
 */
export function tokenize(line: string, out: string[] = []): string[] | undefined {
  out.length = 0;
  const n = line.length;
  let i = 0;
  while (i < n) {
    if (line.charCodeAt(i) === 0x22) {
      // The closing quote is the first unescaped one followed by a space or the end of the line:
      // NLB's ALPN list ("h2","http/1.1") and some user agents hold quotes of their own.
      let end = i;
      // Whether a quote inside follows a backslash: only then is there a `\"` to unescape.
      let backslashQuote = false;
      for (;;) {
        end = line.indexOf('"', end + 1);
        if (end === -1) return undefined;
        if (line.charCodeAt(end - 1) === 0x5c) {
          backslashQuote = true;
          if (!evenBackslashes(line, end - 1, i + 1)) continue;
        }
        if (end + 1 >= n || line.charCodeAt(end + 1) === 0x20) break;
      }
      const raw = line.slice(i + 1, end);
      out.push(backslashQuote ? raw.replace(/\\"/g, '"') : raw);
      i = end + 1;
      if (i < n && line.charCodeAt(i) === 0x20) i++;
      continue;
    }
    let sp = line.indexOf(' ', i);
    if (sp === -1) sp = n;
    out.push(line.slice(i, sp));
    i = sp + 1;
  }
  return out;
}

/** True when the run of backslashes ending at `at` (and starting no earlier than `from`) has even length. */
function evenBackslashes(s: string, at: number, from: number): boolean {
  let k = 0;
  for (let j = at; j >= from && s.charCodeAt(j) === 0x5c; j--) k++;
  return k % 2 === 0;
}
