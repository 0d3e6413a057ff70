/** The start-up check of the ICMP tools, with the real findExecutable (a missing tool is named by a path that does not exist). */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { checkIcmpTool, SystemPinger } from './system-pinger.js';

function capturingLogger() {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
  return { logger, lines };
}

const missing = { fping: '/nonexistent/fping', ping: '/nonexistent/ping' };

describe('the ICMP tool check', () => {
  it('finds fping and says nothing when it is installed', () => {
    const { logger, lines } = capturingLogger();
    expect(checkIcmpTool(logger)).toMatchObject({ tool: 'fping' });
    expect(lines).toEqual([]);
  });

  it('warns with the fix when only iputils ping is installed', () => {
    const { logger, lines } = capturingLogger();
    expect(checkIcmpTool(logger, { fping: missing.fping })).toMatchObject({ tool: 'ping' });
    expect(lines).toEqual([expect.objectContaining({ level: 40, msg: expect.stringContaining('apt-get install fping') })]);
  });

  it('says it once between the start-up check and the first ping of the same process', async () => {
    const { logger, lines } = capturingLogger();
    expect(checkIcmpTool(logger, missing)).toEqual({ tool: 'none' });
    const pinger = new SystemPinger({ logger, ...missing });
    const reply = await pinger.ping('127.0.0.1', 300, new AbortController().signal);
    expect(reply).toMatchObject({ alive: false, reason: expect.stringContaining('no ICMP tool') });
    expect(lines).toEqual([expect.objectContaining({ level: 50, msg: expect.stringContaining('apt-get install fping') })]);
  });
});
