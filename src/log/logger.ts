import pino, { type DestinationStream, type Logger } from 'pino';
import type { Config } from '../config/schema.js';

/**
 * Belt and braces: code never logs secrets on purpose, and these paths are
 * censored in case an object carrying one is ever logged whole.
 */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  'auth_cred',
  '*.auth_cred',
  'bearer_token',
  '*.bearer_token',
  'client_secret',
  '*.client_secret',
  'client_key',
  '*.client_key',
  'req.headers["x-auth-token"]',
  'req.headers["x-subject-token"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  'res.headers["x-subject-token"]',
];

export function createLogger(config: Config['log'], destination?: DestinationStream): Logger {
  const options = { level: config.level, redact: { paths: REDACTED_PATHS, censor: '***' } };
  if (destination) return pino(options, destination);
  const pretty = config.format === 'pretty' || (config.format === 'auto' && process.stdout.isTTY === true);
  if (pretty) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:standard' } } });
  }
  return pino(options);
}
