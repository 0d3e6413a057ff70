import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  InternalError,
  MalformedBodyError,
  PayloadTooLargeError,
  RouteNotFoundError,
  UnsupportedMediaTypeError,
  VimMonitorError,
  InvalidInputError,
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
  app.setErrorHandler((raw: FastifyError | VimMonitorError | Error, request: FastifyRequest, reply: FastifyReply) => {
    const error = toVimMonitorError(raw);
    if (error.httpStatus >= 500) {
      request.log.error({ err: raw, code: error.code }, 'request failed');
    } else {
      request.log.info({ code: error.code, status: error.httpStatus, reason: error.message }, 'request refused');
    }
    void reply.code(error.httpStatus).type('application/json').send(tackerErrorBody(error));
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new RouteNotFoundError(`The resource ${request.method} ${request.url.split('?')[0]} could not be found`);
    void reply.code(error.httpStatus).send(tackerErrorBody(error));
  });
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
