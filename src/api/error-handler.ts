import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  HeadersTooLargeError,
  InternalError,
  RequestTimeoutError,
  MalformedBodyError,
  PayloadTooLargeError,
  RouteNotFoundError,
  UnsupportedMediaTypeError,
  VimMonitorError,
  InvalidInputError,
  StorageFullError,
} from '../errors.js';

/** The body shape python-tackerclient parses to print an error. */
export interface TackerErrorBody {
  TackerError: { type: string; message: string; detail: string };
}

export function tackerErrorBody(error: VimMonitorError): TackerErrorBody {
  return { TackerError: { type: error.tackerType, message: error.message, detail: '' } };
}

/**
 * The one place where errors become HTTP responses. Domain errors carry their
 * status; Fastify's own errors (bad JSON, body too large, schema violations)
 * are translated to the same hierarchy; anything else is a 500 whose details
 * go to the log only.
 */
export function installErrorHandling(app: FastifyInstance): void {
  // One episode of a full disk: from the first refused write to the next write that succeeds.
  let storageFull = false;
  app.setErrorHandler((raw: FastifyError | VimMonitorError | Error, request: FastifyRequest, reply: FastifyReply) => {
    if (raw instanceof StorageFullError) {
      if (!storageFull) request.log.error({ err: raw.cause, code: raw.code }, 'the database has no space left: writes are refused with 507 until space is freed');
      else request.log.debug({ code: raw.code }, 'request refused: database storage still full');
      storageFull = true;
      void reply.code(raw.httpStatus).type('application/json').send(tackerErrorBody(raw));
      return;
    }
    respondWithError(raw, request, reply);
  });
  app.addHook('onResponse', async (request, reply) => {
    if (storageFull && request.method !== 'GET' && request.method !== 'HEAD' && reply.statusCode < 400) {
      storageFull = false;
      request.log.info('the database stores writes again: storage-full episode over');
    }
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new RouteNotFoundError(`The resource ${request.method} ${request.url.split('?')[0]} could not be found`);
    void reply.code(error.httpStatus).send(tackerErrorBody(error));
  });
}

/**
 * Answers with the error's status and Tacker body. Also Fastify's
 * `frameworkErrors` option (a path that is not valid percent-encoding), which
 * Fastify raises before routing, where setErrorHandler does not apply.
 */
export function respondWithError(raw: FastifyError | VimMonitorError | Error, request: FastifyRequest, reply: FastifyReply): void {
  const error = toVimMonitorError(raw);
  if (error.httpStatus >= 500) {
    request.log.error({ err: raw, code: error.code }, 'request failed');
  } else {
    request.log.info({ code: error.code, status: error.httpStatus, reason: error.message }, 'request refused');
  }
  void reply.code(error.httpStatus).type('application/json').send(tackerErrorBody(error));
}

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (a NUL or
 * other control byte in a header, a malformed request line, oversized
 * headers, a timeout) still get a TackerError body; Fastify's default
 * writes its own shape.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const refusal =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new RequestTimeoutError('The request was not received in time')
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? new HeadersTooLargeError('The request headers are larger than the limit')
        : new InvalidInputError('The request is not valid HTTP (e.g. a control character in a header)');
  const body = JSON.stringify(tackerErrorBody(refusal));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${refusal.httpStatus} ${STATUS_CODES[refusal.httpStatus] ?? ''}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Content-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

export function toVimMonitorError(error: unknown): VimMonitorError {
  if (error instanceof VimMonitorError) return error;
  const code = (error as Partial<FastifyError>).code;
  switch (code) {
    case 'FST_ERR_VALIDATION':
      return new InvalidInputError((error as Error).message);
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new MalformedBodyError(`Malformed request body: ${describeParseError(error)}`);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PayloadTooLargeError('Request body is larger than the limit (server.body_limit)');
    case 'FST_ERR_BAD_URL':
      return new InvalidInputError('The request path is not valid percent-encoded UTF-8');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new InvalidInputError('A path parameter is longer than the limit');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new UnsupportedMediaTypeError('Content-Type must be application/json');
    default:
      break;
  }
  const status = (error as Partial<FastifyError>).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new InvalidInputError(error instanceof Error ? error.message : 'Bad request');
  }
  return new InternalError('An unexpected error occurred; see the service log');
}

function describeParseError(error: unknown): string {
  const code = (error as Partial<FastifyError>).code;
  if (code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return 'the body is empty';
  if (code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') return 'Content-Length does not match the body';
  // JSON.parse messages quote at most a few characters of position info, no values.
  return 'not valid JSON';
}
