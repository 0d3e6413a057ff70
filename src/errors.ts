/**
 * The one error hierarchy of vim-monitor. Every error a caller can see is one
 * of these, with a stable `code` (for logs and tests) and the HTTP status and
 * Tacker error `type` it maps to. The mapping to HTTP happens only in
 * src/api/error-handler.ts; everything else just throws these.
 *
 * Messages must never contain secrets: they are returned to clients and logged.
 */
export abstract class VimMonitorError extends Error {
  abstract readonly code: string;
  abstract readonly httpStatus: number;
  /** The `TackerError.type` value clients see (Tacker uses exception class names). */
  abstract readonly tackerType: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class InvalidInputError extends VimMonitorError {
  readonly code = 'VIMMON_ERR_INVALID_INPUT';
  readonly httpStatus = 400;
  readonly tackerType = 'HTTPBadRequest';
}

export class MalformedBodyError extends VimMonitorError {
  readonly code = 'VIMMON_ERR_MALFORMED_BODY';
  readonly httpStatus = 400;
  readonly tackerType = 'MalformedRequestBody';
}

export class PayloadTooLargeError extends VimMonitorError {
  readonly code = 'VIMMON_ERR_PAYLOAD_TOO_LARGE';
  readonly httpStatus = 413;
  readonly tackerType = 'HTTPRequestEntityTooLarge';
}

/** The client took longer than server.headers_timeout or server.request_timeout to send its request. */
export class RequestTimeoutError extends VimMonitorError {
  readonly code = 'VIMMON_ERR_REQUEST_TIMEOUT';
  readonly httpStatus = 408;
  readonly tackerType = 'HTTPRequestTimeout';
}

export class HeadersTooLargeError extends VimMonitorError {
  readonly code = 'VIMMON_ERR_HEADERS_TOO_LARGE';
  readonly httpStatus = 431;
  readonly tackerType = 'HTTPRequestHeaderFieldsTooLarge';
}

export class UnsupportedMediaTypeError extends VimMonitorError {
  readonly code = 'VIMMON_ERR_UNSUPPORTED_MEDIA_TYPE';
  readonly httpStatus = 415;
  readonly tackerType = 'HTTPUnsupportedMediaType';
}

export class NotAuthenticatedError extends VimMonitorError {
  readonly code = 'VIMMON_ERR_NOT_AUTHENTICATED';
  readonly httpStatus = 401;
  readonly tackerType = 'HTTPUnauthorized';
}

export class ForbiddenError extends VimMonitorError {
  readonly code = 'VIMMON_ERR_FORBIDDEN';
  readonly httpStatus = 403;
  readonly tackerType = 'HTTPForbidden';
}

export class RouteNotFoundError extends VimMonitorError {
  readonly code = 'VIMMON_ERR_ROUTE_NOT_FOUND';
  readonly httpStatus = 404;
  readonly tackerType = 'HTTPNotFound';
}

export class VimNotFoundError extends VimMonitorError {
  readonly code = 'VIMMON_ERR_VIM_NOT_FOUND';
  readonly httpStatus = 404;
  readonly tackerType = 'VimNotFoundException';

  constructor(vimId: string) {
    super(`VIM ${vimId} could not be found`);
  }
}

/** Any other resource (a subscription, a monitor) that does not exist or is not the caller's. */
export class NotFoundError extends VimMonitorError {
  readonly code = 'VIMMON_ERR_NOT_FOUND';
  readonly httpStatus = 404;
  readonly tackerType = 'NotFound';

  constructor(what: string) {
    super(`The ${what} could not be found`);
  }
}

export class DuplicateVimNameError extends VimMonitorError {
  readonly code = 'VIMMON_ERR_DUPLICATE_NAME';
  readonly httpStatus = 409;
  readonly tackerType = 'DuplicateEntity';

  constructor(name: string, tenantId: string) {
    super(`A VIM named '${name}' already exists in tenant ${tenantId}`);
  }
}

export class DuplicateDefaultVimError extends VimMonitorError {
  readonly code = 'VIMMON_ERR_DUPLICATE_DEFAULT';
  readonly httpStatus = 409;
  readonly tackerType = 'VimDefaultDuplicateException';

  constructor(tenantId: string, existingId?: string) {
    super(
      `Tenant ${tenantId} already has a default VIM` +
        (existingId ? ` (${existingId}); unset it first` : '; unset it first'),
    );
  }
}

/** An isolation acknowledgement while the worker that answers is not isolated (issue 11): nothing to acknowledge. */
export class NotIsolatedError extends VimMonitorError {
  readonly code = 'VIMMON_ERR_NOT_ISOLATED';
  readonly httpStatus = 409;
  readonly tackerType = 'Conflict';
}

export class MethodNotAllowedError extends VimMonitorError {
  readonly code = 'VIMMON_ERR_METHOD_NOT_ALLOWED';
  readonly httpStatus = 405;
  readonly tackerType = 'HTTPMethodNotAllowed';
}

export class DatabaseUnavailableError extends VimMonitorError {
  readonly code = 'VIMMON_ERR_DATABASE_UNAVAILABLE';
  readonly httpStatus = 503;
  readonly tackerType = 'ServiceUnavailable';

  constructor(options?: { cause?: unknown }) {
    super('The database is unavailable; retry later', options);
  }
}

/** The database refused a write for lack of space (disk, tmpfs, tablespace). Reads keep working; writes work again once space is freed. */
export class StorageFullError extends VimMonitorError {
  readonly code = 'VIMMON_ERR_STORAGE_FULL';
  readonly httpStatus = 507;
  readonly tackerType = 'InsufficientStorage';

  constructor(options?: { cause?: unknown }) {
    super('The database has no space left for this change; nothing was stored; retry once space is freed', options);
  }
}

/**
 * The store faults that pass by themselves: the database unreachable, or out
 * of space. Background work keeps what it has and retries; anything else is
 * a bug until shown otherwise.
 */
export function isStoreOutage(error: unknown): error is DatabaseUnavailableError | StorageFullError {
  return error instanceof DatabaseUnavailableError || error instanceof StorageFullError;
}

export class UpstreamUnavailableError extends VimMonitorError {
  readonly code = 'VIMMON_ERR_UPSTREAM_UNAVAILABLE';
  readonly httpStatus = 503;
  readonly tackerType = 'ServiceUnavailable';
}

/** The dashboard's assets are not where the service serves them from: the package was built without them. */
export class DashboardNotBuiltError extends VimMonitorError {
  readonly code = 'VIMMON_ERR_DASHBOARD_NOT_BUILT';
  readonly httpStatus = 503;
  readonly tackerType = 'ServiceUnavailable';

  constructor() {
    super('The dashboard is not built: run `npm run build` (it builds the dashboard into dist/dashboard), then restart the service');
  }
}

export class InternalError extends VimMonitorError {
  readonly code = 'VIMMON_ERR_INTERNAL';
  readonly httpStatus = 500;
  readonly tackerType = 'HTTPInternalServerError';
}

/** Start-up problems (bad configuration, unreadable key file). Never reaches HTTP. */
/**
 * The secret key is missing or is not the one that sealed the stored secrets
 * (or a rotation cannot proceed): start-up and `secrets rotate` stop with
 * this one line, which says how to fix it.
 */
export class SecretKeyError extends VimMonitorError {
  readonly code = 'VIMMON_ERR_SECRET_KEY';
  readonly httpStatus = 500;
  readonly tackerType = 'SecretKeyError';
}

export class ConfigurationError extends VimMonitorError {
  readonly code = 'VIMMON_ERR_CONFIGURATION';
  readonly httpStatus = 500;
  readonly tackerType = 'ConfigurationError';
}

const PLAIN_ATTRIBUTE = /^[A-Za-z_][A-Za-z0-9_]{0,39}$/;

/**
 * Names an attribute a client sent, for an error message. A name that does
 * not look like an identifier is not echoed: a secret pasted into the wrong
 * place of a config file must not come back in an error or a log line.
 */
export function quoteAttribute(prefix: string, name: string): string {
  if (!PLAIN_ATTRIBUTE.test(name)) return `an attribute of '${prefix || 'the body'}' (name not shown: not an identifier)`;
  return `'${prefix ? `${prefix}.` : ''}${name}'`;
}
