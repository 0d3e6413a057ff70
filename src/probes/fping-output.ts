/**
 * Reading fping's output (fping 4 and 5 with `-C 1`, targets given as IP
 * addresses). fping writes a line per reply to stdout as it arrives, and a
 * summary line per target to stderr when it exits; the summary is the one
 * that always exists, so it decides.
 *
 *   stdout  127.0.0.1  : [0], 64 bytes, 0.013 ms (0.013 avg, 0% loss)
 *   stdout  198.18.0.2 : [0], timed out (NaN avg, 100% loss)
 *   stderr  127.0.0.1  : 0.013
 *   stderr  198.18.0.2 : -
 *   stderr  ICMP Host Unreachable from 198.18.0.1 for ICMP Echo sent to 198.18.0.2
 */
export type FpingLine =
  | { kind: 'reply'; address: string; rttMs: number }
  | { kind: 'summary'; address: string; rttMs: number | undefined }
  | { kind: 'lost'; address: string }
  | { kind: 'icmp-error'; address: string; message: string }
  | { kind: 'other'; text: string };

const REPLY = /^(\S+)\s+:\s+\[\d+\],\s+\d+ bytes,\s+([\d.]+) ms\b/;
const LOST = /^(\S+)\s+:\s+\[\d+\],\s+timed out\b/;
const SUMMARY = /^(\S+)\s+:\s+((?:[\d.]+|-)(?:\s+(?:[\d.]+|-))*)\s*$/;
const ICMP_ERROR = /^ICMP (.+?) from (\S+) for ICMP Echo sent to (\S+)/;

/**
 * One line of fping output. The lines fping prints for nearly every target
 * (a reply on stdout, a one-value summary on stderr) are read by a scan
 * without regular expressions; a line that scan is not sure of goes through
 * the regular expressions, so both ways give the same answer.
 */
export function parseFpingLine(line: string): FpingLine | undefined {
  return scanCommonLine(line) ?? parseFpingLineByPatterns(line);
}

/** The reference reading, by regular expressions alone: parseFpingLine gives the same answers. */
export function parseFpingLineByPatterns(line: string): FpingLine | undefined {
  const text = line.trim();
  if (text === '') return undefined;
  const reply = REPLY.exec(text);
  if (reply) return { kind: 'reply', address: reply[1] as string, rttMs: Number(reply[2]) };
  const lost = LOST.exec(text);
  if (lost) return { kind: 'lost', address: lost[1] as string };
  const summary = SUMMARY.exec(text);
  if (summary) {
    // With -C 1 there is one value; with more, any reply counts and the fastest is kept.
    const rtts = (summary[2] as string).split(/\s+/).filter((v) => v !== '-').map(Number);
    return { kind: 'summary', address: summary[1] as string, rttMs: rtts.length > 0 ? Math.min(...rtts) : undefined };
  }
  const icmp = ICMP_ERROR.exec(text);
  if (icmp) return { kind: 'icmp-error', address: icmp[3] as string, message: `ICMP ${icmp[1]} from ${icmp[2]}` };
  return { kind: 'other', text };
}

const SPACE = 0x20;
const COLON = 0x3a;
const BRACKET = 0x5b;
const CLOSING_BRACKET = 0x5d;
const COMMA = 0x2c;
const DOT = 0x2e;
const DASH = 0x2d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

const isDigit = (c: number) => c >= DIGIT_0 && c <= DIGIT_9;
const isDigitOrDot = (c: number) => (c >= DIGIT_0 && c <= DIGIT_9) || c === DOT;
/** A word character as the \b of a regular expression sees it. */
const isWordChar = (c: number) => isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;

/**
 * `ADDRESS<spaces>: [N], B bytes, RTT ms…`, `ADDRESS<spaces>: [N], timed out…`
 * and `ADDRESS<spaces>: RTT` / `: -`, separated by plain spaces and with
 * nothing to trim; undefined for anything else (the patterns decide then).
 */
function scanCommonLine(line: string): FpingLine | undefined {
  const length = line.length;
  // The address: printable ASCII up to the first space (no whitespace, nothing to trim before it).
  let i = 0;
  for (; i < length; i += 1) {
    const c = line.charCodeAt(i);
    if (c === SPACE) break;
    if (c < 0x21 || c > 0x7e) return undefined;
  }
  if (i === 0 || i === length) return undefined;
  const addressEnd = i;
  while (i < length && line.charCodeAt(i) === SPACE) i += 1;
  if (line.charCodeAt(i) !== COLON) return undefined;
  i += 1;
  if (line.charCodeAt(i) !== SPACE) return undefined;
  while (i < length && line.charCodeAt(i) === SPACE) i += 1;
  if (i === length) return undefined;

  if (line.charCodeAt(i) === BRACKET) {
    // stdout: `[0], 64 bytes, 0.013 ms (…)` or `[0], timed out (…)`
    i += 1;
    const countStart = i;
    while (isDigit(line.charCodeAt(i))) i += 1;
    if (i === countStart || line.charCodeAt(i) !== CLOSING_BRACKET || line.charCodeAt(i + 1) !== COMMA) return undefined;
    i += 2;
    if (line.charCodeAt(i) !== SPACE) return undefined;
    while (line.charCodeAt(i) === SPACE) i += 1;
    if (line.startsWith('timed out', i)) {
      return isWordChar(line.charCodeAt(i + 9)) ? undefined : { kind: 'lost', address: line.slice(0, addressEnd) };
    }
    const bytesStart = i;
    while (isDigit(line.charCodeAt(i))) i += 1;
    if (i === bytesStart || !line.startsWith(' bytes,', i)) return undefined;
    i += 7;
    if (line.charCodeAt(i) !== SPACE) return undefined;
    while (line.charCodeAt(i) === SPACE) i += 1;
    const rttStart = i;
    while (isDigitOrDot(line.charCodeAt(i))) i += 1;
    if (i === rttStart || !line.startsWith(' ms', i) || isWordChar(line.charCodeAt(i + 3))) return undefined;
    return { kind: 'reply', address: line.slice(0, addressEnd), rttMs: Number(line.slice(rttStart, i)) };
  }

  // stderr: a summary with one value, `0.013` or `-`, ending the line.
  const valueStart = i;
  if (line.charCodeAt(i) === DASH) {
    return i + 1 === length ? { kind: 'summary', address: line.slice(0, addressEnd), rttMs: undefined } : undefined;
  }
  while (i < length && isDigitOrDot(line.charCodeAt(i))) i += 1;
  if (i !== length) return undefined;
  return { kind: 'summary', address: line.slice(0, addressEnd), rttMs: Number(line.slice(valueStart)) };
}

/**
 * Cuts a stream's chunks into lines. fping's output is ASCII, so a chunk is
 * read as latin1 (no UTF-8 decoder); a line may come in pieces over several
 * chunks, and a last line without a newline counts at end(). A CR before the
 * newline is dropped and empty lines are skipped (parseFpingLine ignores them).
 */
export class LineSplitter {
  private partial = '';

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer | string): void {
    const piece = typeof chunk === 'string' ? chunk : chunk.toString('latin1');
    const text = this.partial === '' ? piece : this.partial + piece;
    let start = 0;
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
      const end = newline > start && text.charCodeAt(newline - 1) === 0x0d ? newline - 1 : newline;
      if (end > start) this.onLine(text.slice(start, end));
      start = newline + 1;
    }
    this.partial = start === text.length ? '' : text.slice(start);
  }

  /** The stream has ended: a last line without a newline is a line too. */
  end(): void {
    const rest = this.partial;
    this.partial = '';
    if (rest !== '') this.onLine(rest);
  }

  /** Forgets a line begun in an earlier chunk (when the rest of the output is not read). */
  discard(): void {
    this.partial = '';
  }
}
