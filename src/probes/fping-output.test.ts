import { describe, expect, it } from 'vitest';
import { LineSplitter, parseFpingLine } from './fping-output.js';

// Lines copied from fping 5.1 (Debian 12) with `-C 1`.
describe('parseFpingLine', () => {
  it('reads a live reply line from stdout', () => {
    expect(parseFpingLine('127.0.0.1  : [0], 64 bytes, 0.013 ms (0.013 avg, 0% loss)')).toEqual({ kind: 'reply', address: '127.0.0.1', rttMs: 0.013 });
    expect(parseFpingLine('::1        : [0], 64 bytes, 0.009 ms (0.009 avg, 0% loss)')).toEqual({ kind: 'reply', address: '::1', rttMs: 0.009 });
  });

  it('reads the per-target summary from stderr, with and without a reply', () => {
    expect(parseFpingLine('127.0.0.1  : 0.013')).toEqual({ kind: 'summary', address: '127.0.0.1', rttMs: 0.013 });
    expect(parseFpingLine('198.18.0.2 : -')).toEqual({ kind: 'summary', address: '198.18.0.2', rttMs: undefined });
    expect(parseFpingLine('100::2     : -')).toEqual({ kind: 'summary', address: '100::2', rttMs: undefined });
  });

  it('keeps the fastest reply of a summary with several counts', () => {
    expect(parseFpingLine('10.0.0.1 : 0.30 - 0.20')).toEqual({ kind: 'summary', address: '10.0.0.1', rttMs: 0.2 });
  });

  it('reads an ICMP error naming the target it concerns', () => {
    expect(parseFpingLine('ICMP Host Unreachable from 198.18.0.1 for ICMP Echo sent to 198.18.0.2')).toEqual({
      kind: 'icmp-error',
      address: '198.18.0.2',
      message: 'ICMP Host Unreachable from 198.18.0.1',
    });
  });

  it('reads a live loss line from stdout', () => {
    expect(parseFpingLine('198.18.0.2 : [0], timed out (NaN avg, 100% loss)')).toEqual({ kind: 'lost', address: '198.18.0.2' });
  });

  it('ignores blank lines and keeps anything else as text', () => {
    expect(parseFpingLine('')).toBeUndefined();
    expect(parseFpingLine('fping: can\'t create socket')).toEqual({ kind: 'other', text: "fping: can't create socket" });
  });

  it('reads lines with other spacing than fping\'s own', () => {
    expect(parseFpingLine('127.0.0.1\t: [0], 64 bytes, 0.013 ms (0.013 avg, 0% loss)')).toEqual({ kind: 'reply', address: '127.0.0.1', rttMs: 0.013 });
    expect(parseFpingLine('  127.0.0.1  : 0.013  \r')).toEqual({ kind: 'summary', address: '127.0.0.1', rttMs: 0.013 });
    expect(parseFpingLine('127.0.0.1: 0.013')).toEqual({ kind: 'other', text: '127.0.0.1: 0.013' });
    expect(parseFpingLine('127.0.0.1 : [0], 64 bytes, 0.013 msec')).toEqual({ kind: 'other', text: '127.0.0.1 : [0], 64 bytes, 0.013 msec' });
    expect(parseFpingLine('127.0.0.1 : -0.1')).toEqual({ kind: 'other', text: '127.0.0.1 : -0.1' });
  });
});

describe('LineSplitter', () => {
  const output = '127.0.0.1  : [0], 64 bytes, 0.013 ms (0.013 avg, 0% loss)\n\n::1        : 0.009\r\n198.18.0.2 : -';
  const lines = ['127.0.0.1  : [0], 64 bytes, 0.013 ms (0.013 avg, 0% loss)', '::1        : 0.009', '198.18.0.2 : -'];

  function split(chunks: Array<Buffer | string>): string[] {
    const seen: string[] = [];
    const splitter = new LineSplitter((line) => seen.push(line));
    for (const chunk of chunks) splitter.push(chunk);
    splitter.end();
    return seen;
  }

  it('gives the lines of one chunk, and a last line without a newline at the end', () => {
    expect(split([Buffer.from(output)])).toEqual(lines);
  });

  it('puts together lines that arrive split across chunks, wherever the cuts fall', () => {
    for (let first = 0; first <= output.length; first += 1) {
      for (let second = first; second <= output.length; second += 7) {
        const chunks = [output.slice(0, first), output.slice(first, second), output.slice(second)].map((piece) => Buffer.from(piece, 'latin1'));
        expect(split(chunks)).toEqual(lines);
      }
    }
    expect(split([...output].map((c) => Buffer.from(c)))).toEqual(lines);
  });

  it('forgets a begun line when told to discard it', () => {
    const seen: string[] = [];
    const splitter = new LineSplitter((line) => seen.push(line));
    splitter.push('127.0.0.1 : 0.0');
    splitter.discard();
    splitter.push('::1 : 0.009\n');
    splitter.end();
    expect(seen).toEqual(['::1 : 0.009']);
  });
});
