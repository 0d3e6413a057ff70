/**
 * The engine hands a body sent with Transfer-Encoding: chunked back as it
 * came, chunk sizes included (native/probe-engine/src/http.c), and its
 * results do not say which bodies were chunked. The api probe reads a body
 * only to judge Kubernetes /readyz, so a body that parses as chunked framing
 * from its first byte is read as such: a plain body that happens to be valid
 * chunked framing ('2\r\nok\r\n0\r\n\r\n') is not a real server's answer.
 * A body cut at maxBody keeps what arrived of its last chunk.
 */
export function unchunk(body: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', at);
    // No size line at all: not chunked. A size line cut at maxBody: what came before it.
    if (lineEnd === -1) return at === 0 ? body : out;
    // A size in hex, maybe with ;extensions.
    const sizeText = body.slice(at, lineEnd).split(';', 1)[0] as string;
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) return body;
    const size = Number.parseInt(sizeText, 16);
    const start = lineEnd + 2;
    if (size === 0) return out;
    if (start + size > body.length) return out + body.slice(start); // cut at maxBody
    out += body.slice(start, start + size);
    at = start + size;
    if (at === body.length) return out; // cut right after a chunk
    if (body.startsWith('\r\n', at)) at += 2;
    else return body;
  }
}
