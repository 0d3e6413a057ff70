import { afterEach, describe, expect, it } from 'vitest';
import { expectPromtoolAccepts, parseExposition, runPromtoolCheckMetrics } from './promtool.js';

describe('the promtool helper', () => {
  const saved = process.env.PROMTOOL;
  afterEach(() => {
    if (saved === undefined) delete process.env.PROMTOOL;
    else process.env.PROMTOOL = saved;
  });

  it('accepts a valid exposition and refuses a gauge named like a counter, quoting promtool', async () => {
    await expectPromtoolAccepts('# HELP demo_checks_total Checks.\n# TYPE demo_checks_total counter\ndemo_checks_total{probe="tcp"} 3\n');
    const result = await runPromtoolCheckMetrics('# HELP demo_active_total Active.\n# TYPE demo_active_total gauge\ndemo_active_total 1\n');
    expect(result.exitCode).not.toBe(0);
    await expect(expectPromtoolAccepts('# HELP demo_active_total Active.\n# TYPE demo_active_total gauge\ndemo_active_total 1\n')).rejects.toThrow(
      /non-counter metrics should not have "_total" suffix/,
    );
  });

  it('refuses an exposition that does not parse', async () => {
    await expect(expectPromtoolAccepts('demo_value{probe="tcp" 1\n')).rejects.toThrow(/refused the exposition \(exit 1\)/);
  });

  it('fails, saying how to install it, when promtool is missing', async () => {
    process.env.PROMTOOL = '/nonexistent/promtool';
    await expect(runPromtoolCheckMetrics('')).rejects.toThrow(/\/nonexistent\/promtool not found\. .*apt-get install -y --no-install-recommends prometheus/);
  });

  it('reads sample names, labels (escapes included) and values', () => {
    expect(parseExposition('# HELP x X.\nx{a="1",b="say \\"hi\\"\\\\"} 2.5\ny +Inf\nz Nan\n')).toEqual([
      { name: 'x', labels: { a: '1', b: 'say "hi"\\' }, value: 2.5 },
      { name: 'y', labels: {}, value: Infinity },
      { name: 'z', labels: {}, value: NaN },
    ]);
  });
});
