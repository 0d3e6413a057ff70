import { describe, expect, it } from 'vitest';
import { unchunk } from './chunked-body.js';

describe('unchunk', () => {
  it('reads a chunked body as its data', () => {
    expect(unchunk('2\r\nok\r\n0\r\n\r\n')).toBe('ok');
    expect(unchunk('4;ext=1\r\n[+]p\r\n3\r\ning\r\n0\r\n\r\n')).toBe('[+]ping');
  });

  it('keeps what arrived of a body cut at maxBody', () => {
    expect(unchunk('a\r\n[-]etcd fa')).toBe('[-]etcd fa');
    expect(unchunk('2\r\nok\r\n')).toBe('ok');
  });

  it('leaves a body that is not chunked framing as it is', () => {
    for (const body of ['ok', 'ok\n', '[+]ping ok\n[-]etcd failed\n', '', '<html>login</html>', '2\r\nokX0\r\n\r\n']) expect(unchunk(body)).toBe(body);
  });
});
