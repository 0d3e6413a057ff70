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

export function parseFpingLine(line: string): FpingLine | undefined {
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
