import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
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
 * Answers what Node's HTTP server reports before a request exists (its
 * 'clientError'): a request not received within server.headers_timeout or
 * server.request_timeout, headers too large, unparsable HTTP. There is no
 * reply object, so the TackerError is written on the socket, which is then
 * closed. Logged at debug: a slow-client flood would otherwise flood the log.
 */
export function clientErrorAnswerer(logger: Logger): (error: Error & { code?: string }, socket: Socket) => void {
  return (error, socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const answer =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new RequestTimeoutError('The request was not received in time (server.headers_timeout, server.request_timeout)')
        : error.code === 'HPE_HEADER_OVERFLOW'
          ? new HeadersTooLargeError('Request headers are too large')
          : new InvalidInputError('Malformed HTTP request');
    logger.debug({ code: answer.code, reason: error.code, peer: socket.remoteAddress }, 'connection refused before a request');
    // A response already under way (e.g. an early 413 while the body still trickles) must not get a second one.
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) {
      const body = JSON.stringify(tackerErrorBody(answer));
      socket.write(
        `HTTP/1.1 ${answer.httpStatus} ${STATUS_CODES[answer.httpStatus] ?? ''}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  };
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
