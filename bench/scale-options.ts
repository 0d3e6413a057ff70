/** The scale phase's command-line options, kept here so that main.ts only spreads them in. */

export const SCALE_ARGS = {
  'scale-sizes': { type: 'string', default: '10000,30000,100000' },
  'scale-workers': { type: 'string', default: '10' },
  'scale-window': { type: 'string', default: '90' },
  'scale-down-share': { type: 'string', default: '0.01' },
  'scale-period': { type: 'string', default: '120' },
  'scale-down': { type: 'string', default: '50' },
  'scale-concurrency': { type: 'string', default: '16' },
  'scale-pool-size': { type: 'string', default: '5' },
  'scale-api-register-max': { type: 'string', default: '0' },
  'scale-vacuum': { type: 'string', default: '60' },
} as const;

export const SCALE_USAGE = `  --scale-sizes LIST    VIM counts of the scale phase (issue 13; default 10000,30000,100000):
                        workers with scripted probes (no packet sent) on one PostgreSQL
                        database of its own on --pg-url; database load per second and
                        its growth with N
  --scale-workers N     vim-monitor worker processes of the scale phase (default 10)
  --scale-window S      measurement window per size, seconds (default 90)
  --scale-down-share F  share of the VIMs the script takes down and back (default 0.01)
  --scale-period S      seconds of one scripted down-and-up cycle (default 120)
  --scale-down S        seconds of each cycle a VIM is down (default 50)
  --scale-concurrency N concurrent API POSTs while registering (default 16)
  --scale-pool-size N   database.pool_size of each process (default 5: workers + 1
                        processes share the server's max_connections)
  --scale-api-register-max N
                        sizes up to N are registered through the API (its rate
                        measured); larger ones by copying the row of one registered
                        through the API (default 0: all by copy; see bench/scale-register.ts)
  --scale-vacuum S      VACUUM ANALYZE the phase's database every S seconds, as autovacuum
                        would (default 60, autovacuum_naptime); 0: never`;

export interface ScaleArgs {
  sizes: number[];
  workers: number;
  windowSeconds: number;
  downShare: number;
  periodSeconds: number;
  downSeconds: number;
  concurrency: number;
  poolSize: number;
  apiRegisterMax: number;
  /** Seconds between VACUUM ANALYZE passes of the phase's own database (0: none). */
  vacuumSeconds: number;
}

export function parseScaleArgs(values: { [K in keyof typeof SCALE_ARGS]: string }): ScaleArgs {
  const number = (name: string, raw: string, min: number, max: number): number => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be a number from ${min} to ${max}, not '${raw}'`);
    return n;
  };
  const periodSeconds = number('scale-period', values['scale-period'], 10, 3600);
  return {
    sizes: values['scale-sizes'].split(',').map((s) => Math.round(number('scale-sizes', s.trim(), 10, 200_000))),
    workers: Math.round(number('scale-workers', values['scale-workers'], 1, 20)),
    windowSeconds: number('scale-window', values['scale-window'], 10, 3600),
    downShare: number('scale-down-share', values['scale-down-share'], 0, 0.5),
    periodSeconds,
    downSeconds: number('scale-down', values['scale-down'], 0, periodSeconds),
    concurrency: Math.round(number('scale-concurrency', values['scale-concurrency'], 1, 128)),
    poolSize: Math.round(number('scale-pool-size', values['scale-pool-size'], 1, 50)),
    apiRegisterMax: Math.round(number('scale-api-register-max', values['scale-api-register-max'], 0, 200_000)),
    vacuumSeconds: number('scale-vacuum', values['scale-vacuum'], 0, 3600),
  };
}
