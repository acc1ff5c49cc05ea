/**
 * Byte-level pieces shared by the streaming JSON scanners (CloudTrail's Records, Firehose's
 * back-to-back objects): they cut objects out of chunks without parsing them and leave the
 * parsing to JSON.parse, which is what makes them fast.
 */
export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const OPEN_OBJ = 0x7b;
export const CLOSE_OBJ = 0x7d;
export const OPEN_ARR = 0x5b;
export const CLOSE_ARR = 0x5d;

/** The chunk ended inside the string. */
export const STRING_GOES_ON = -1;
/** The chunk ended inside the string on a lone backslash: the next chunk's first byte is escaped. */
export const STRING_GOES_ON_ESCAPED = -2;

/**
 * Where a JSON string open at `from` closes in `buf`: the index of its closing quote (one not
 * preceded by an odd run of backslashes), or STRING_GOES_ON / STRING_GOES_ON_ESCAPED when the
 * chunk ends first. A number rather than an object: this runs for every string of every record.
 */
export function closingQuote(buf: Buffer, from: number): number {
  for (let q = buf.indexOf(QUOTE, from); q !== -1; q = buf.indexOf(QUOTE, q + 1)) {
    if (backslashesBefore(buf, q, from) % 2 === 0) return q;
  }
  return backslashesBefore(buf, buf.length, from) % 2 === 1 ? STRING_GOES_ON_ESCAPED : STRING_GOES_ON;
}

function backslashesBefore(buf: Buffer, end: number, floor: number): number {
  let k = 0;
  for (let j = end - 1; j >= floor && buf[j] === BACKSLASH; j--) k++;
  return k;
}
