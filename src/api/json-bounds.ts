import type { FastifyInstance } from 'fastify';
import { InvalidInputError } from '../errors.js';

/**
 * How deep a request body may nest. Our own schemas need 4 levels; the rest
 * is for the free-form fields (`extra`, `vim_project`), where 32 is far more
 * than any real use and far less than what breaks a recursive reader of the
 * stored document later (the deep `extra` that answered 500 on every list).
 */
export const MAX_JSON_DEPTH = 32;

/**
 * The most a schema-free field may hold, as JSON text. It also keeps every
 * stored document (auth_cred sealed grows by a third) inside MariaDB's TEXT
 * column (65,535 bytes), so the three databases accept the same bodies.
 */
export const MAX_FREE_FORM_BYTES = 32_768;

/** The schema-free parts of request bodies, by path: what a schema cannot bound. */
const FREE_FORM_FIELDS: readonly (readonly [string, string])[] = [
  ['vim', 'extra'],
  ['vim', 'vim_project'],
  ['vim', 'auth_cred'],
  ['subscription', 'filter'],
];

/**
 * The position (0-based) where a JSON text opens its (max+1)-th level, or -1.
 * A linear scan of the text, so a hostile body costs no recursion and is
 * refused before JSON.parse builds it.
 */
export function depthExceededAt(text: string, maxDepth: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > maxDepth) return i;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return -1;
}

/** Refuses a schema-free field whose JSON text is larger than MAX_FREE_FORM_BYTES. */
export function checkFreeFormSizes(body: unknown): void {
  if (!isObject(body)) return;
  for (const [outer, inner] of FREE_FORM_FIELDS) {
    const holder = body[outer];
    if (!isObject(holder) || !Object.hasOwn(holder, inner)) continue;
    const bytes = Buffer.byteLength(JSON.stringify(holder[inner]) ?? '', 'utf8');
    if (bytes > MAX_FREE_FORM_BYTES) {
      throw new InvalidInputError(`Invalid value for '${outer}.${inner}': ${bytes} bytes as JSON, more than the limit of ${MAX_FREE_FORM_BYTES}`);
    }
  }
}

/**
 * Replaces Fastify's JSON body parser by one that first bounds the nesting
 * depth, then parses exactly as Fastify does (prototype poisoning refused).
 */
export function installBoundedJsonParser(app: FastifyInstance, maxDepth = MAX_JSON_DEPTH): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (depthExceededAt(text, maxDepth) >= 0) {
      done(new InvalidInputError(`The request body nests deeper than ${maxDepth} levels`), undefined);
      return;
    }
    parse(request, text, done);
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
