/**
 * Content negotiation for `GET /`: browsers get the dashboard, API clients
 * the version document. python-tackerclient sends no Accept (or `*\/*`), and
 * every client that names JSON as well as HTML at the same weight keeps the
 * API: only an Accept that ranks text/html strictly above JSON redirects.
 */
interface MediaRange {
  type: string;
  subtype: string;
  q: number;
}

function parseAccept(header: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  for (const part of header.split(',')) {
    const [range, ...params] = part.split(';');
    const [type, subtype] = (range ?? '').trim().toLowerCase().split('/');
    if (!type || !subtype) continue;
    let q = 1;
    for (const param of params) {
      const [key, value] = param.split('=').map((s) => s.trim());
      if (key?.toLowerCase() === 'q') {
        const parsed = Number(value);
        q = Number.isFinite(parsed) ? Math.min(1, Math.max(0, parsed)) : 0;
      }
    }
    ranges.push({ type, subtype, q });
  }
  return ranges;
}

/** The weight the header gives a media type: its most specific matching range decides (RFC 9110 §12.5.1). */
function weightOf(ranges: MediaRange[], type: string, subtype: string): number {
  const specificity = (r: MediaRange): number => (r.type === type && r.subtype === subtype ? 3 : r.type === type && r.subtype === '*' ? 2 : r.type === '*' && r.subtype === '*' ? 1 : 0);
  let best: MediaRange | undefined;
  for (const range of ranges) {
    const s = specificity(range);
    if (s > 0 && (!best || s > specificity(best))) best = range;
  }
  return best?.q ?? 0;
}

export function prefersHtml(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return false;
  const ranges = parseAccept(accept);
  // HTML must be asked for by name: `*/*` alone is an API client's "anything".
  const named = ranges.some((r) => r.type === 'text' && r.subtype === 'html' && r.q > 0);
  return named && weightOf(ranges, 'text', 'html') > weightOf(ranges, 'application', 'json');
}
