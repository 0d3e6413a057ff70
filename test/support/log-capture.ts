import type { Logger } from 'pino';
import { createLogger } from '../../src/log/logger.js';

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** pino's numeric levels, for assertions that read like the log. */
export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;

/** The project's own logger writing JSON lines into memory: tests read what an operator would see, no mocked logger. */
export function capturedLogger(): { logger: Logger; lines: LogLine[]; matching(text: string): LogLine[] } {
  const lines: LogLine[] = [];
  const logger = createLogger({ level: 'debug', format: 'json' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines, matching: (text) => lines.filter((line) => line.msg.includes(text)) };
}
