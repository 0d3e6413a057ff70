import { describe, expect, it } from 'vitest';
import { prefersHtml } from './accept.js';

describe('content negotiation for GET /', () => {
  it('sends browsers to the dashboard: Chromium, Firefox and Safari rank text/html first', () => {
    expect(prefersHtml('text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7')).toBe(true);
    expect(prefersHtml('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8')).toBe(true);
    expect(prefersHtml('text/html')).toBe(true);
  });

  it('keeps the version document for API clients: no Accept, */*, JSON, or JSON as good as HTML', () => {
    expect(prefersHtml(undefined)).toBe(false);
    expect(prefersHtml('')).toBe(false);
    expect(prefersHtml('*/*')).toBe(false);
    expect(prefersHtml('application/json')).toBe(false);
    expect(prefersHtml('application/json, text/html')).toBe(false);
    expect(prefersHtml('text/html;q=0.5, application/json')).toBe(false);
    expect(prefersHtml('text/html, application/*')).toBe(false);
  });

  it('does not redirect on text/* or a refused text/html', () => {
    expect(prefersHtml('text/*')).toBe(false);
    expect(prefersHtml('text/html;q=0, */*')).toBe(false);
  });

  it('reads weights leniently: spaces, upper case, a malformed q counts as refused', () => {
    expect(prefersHtml(' TEXT/HTML ; Q=1 , application/json ; q=0.2')).toBe(true);
    expect(prefersHtml('text/html;q=abc, application/json;q=0.1')).toBe(false);
  });
});
