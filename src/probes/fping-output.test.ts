import { describe, expect, it } from 'vitest';
import { parseFpingLine } from './fping-output.js';

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
});
