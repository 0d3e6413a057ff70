import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { PeriodTotals, ProbeStats, ProbeStatsByName } from './model.js';

/**
 * The 24 hours of a stored day (vim_history_hours) as bytes. Two forms are
 * read; the first is written.
 *
 * Binary (version 2): `0xFF 0x02`, the probe names (count, then each as
 * length and UTF-8), the present hours as a 24-bit mask, then per present
 * hour its five durations and its condition changes, a mask of the probes it
 * holds, and per such probe checks, failed, p50, p95 and max (latencies as
 * µs + 1, 0 for none). Every number is an unsigned LEB128 varint; hour
 * figures are zigzag deltas from the previous present hour, probe figures
 * from the previous hour that held the probe. A steady hour is then a few
 * bytes, so a day takes about what the deflated form took, without zlib: a
 * flush encodes every VIM's day, and zlib's per-call set-up made the deflated
 * form cost ~50 µs a day (10,000 VIMs: half a second of CPU a minute).
 * 0xFF can never start the older form: it would be a raw deflate block of the
 * reserved type 11.
 *
 * JSON (version 1, written before 2026-12-02): positional JSON arrays,
 * deflated raw. Hour: [reachable, unreachable, pending, maintenanceReachable,
 * maintenanceUnreachable, conditionChanges, {name: [checks, failed, p50, p95,
 * max]}]. Still written for a day the binary form cannot hold exactly
 * (fractional ms, more than 30 probes), which the recorder never produces.
 *
 * Latencies are kept to the µs in both.
 */
type EncodedProbe = [number, number, number | null, number | null, number | null];
type EncodedHour = [number, number, number, number, number, number, Record<string, EncodedProbe>] | null;

const JSON_VERSION = 1;
const MAGIC = 0xff;
const BINARY_VERSION = 2;
const HOUR_FIELDS = 6;
const PROBE_FIELDS = 5;
/** Probe masks are 31-bit integers. */
export const MAX_BINARY_PROBES = 30;

export function encodeHours(hours: ReadonlyArray<PeriodTotals | null>): Buffer {
  return encodeBinary(hours) ?? encodeJson(hours);
}

export function decodeHours(blob: Uint8Array): Array<PeriodTotals | null> {
  return blob[0] === MAGIC ? decodeBinary(blob) : decodeJson(blob);
}

// ---- binary (version 2)

/** Grows as needed and is reused: an encoded day is copied out of it. */
let scratch = new Uint8Array(4096);
let written = 0;
const previous = new Float64Array(HOUR_FIELDS + MAX_BINARY_PROBES * PROBE_FIELDS);
const names: string[] = [];
const nameBytes = new Map<string, Uint8Array>();
const utf8 = new TextEncoder();

function put(byte: number): void {
  if (written === scratch.length) {
    const bigger = new Uint8Array(scratch.length * 2);
    bigger.set(scratch);
    scratch = bigger;
  }
  scratch[written++] = byte;
}

function putUint(value: number): void {
  while (value >= 128) {
    put((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  put(value);
}

/** The zigzag delta of field `slot` from its previous value; false (nothing written) when the value is not a whole number ≥ 0. */
function putExact(slot: number, value: number): boolean {
  if (!(Number.isSafeInteger(value) && value >= 0)) return false;
  const delta = value - previous[slot]!;
  previous[slot] = value;
  putUint(delta >= 0 ? delta * 2 : -delta * 2 - 1);
  return true;
}

/** µs + 1, 0 for none (a negative latency gives a negative code, which putExact refuses). */
function latencyCode(ms: number | null): number {
  return ms === null ? 0 : Math.round(ms * 1000) + 1;
}

/**
 * The binary form written piece by piece, for DayBlock, which encodes straight
 * from its slots: `begin`, then for each present hour (in order) `hour` and
 * `probe` for each probe its mask names, then `end`. `hour` and `probe`
 * answer false for a figure the form cannot hold exactly (then the caller
 * encodes the day's figures with encodeHours instead).
 */
export const hoursWriter = {
  /** `probeNames` at most 30; `present`: bit h set for each hour written. */
  begin(probeNames: readonly string[], present: number): void {
    written = 0;
    previous.fill(0);
    put(MAGIC);
    put(BINARY_VERSION);
    putUint(probeNames.length);
    for (const name of probeNames) {
      let bytes = nameBytes.get(name);
      if (!bytes) nameBytes.set(name, (bytes = utf8.encode(name)));
      putUint(bytes.length);
      for (const byte of bytes) put(byte);
    }
    putUint(present);
  },

  /** `probeMask`: bit p set for each probe (by its index in begin's names) whose figures follow. */
  hour(reachableMs: number, unreachableMs: number, pendingMs: number, maintenanceReachableMs: number, maintenanceUnreachableMs: number, conditionChanges: number, probeMask: number): boolean {
    if (
      !putExact(0, reachableMs) ||
      !putExact(1, unreachableMs) ||
      !putExact(2, pendingMs) ||
      !putExact(3, maintenanceReachableMs) ||
      !putExact(4, maintenanceUnreachableMs) ||
      !putExact(5, conditionChanges)
    ) {
      return false;
    }
    putUint(probeMask);
    return true;
  },

  probe(p: number, checks: number, failed: number, p50: number | null, p95: number | null, max: number | null): boolean {
    const at = HOUR_FIELDS + p * PROBE_FIELDS;
    return putExact(at, checks) && putExact(at + 1, failed) && putExact(at + 2, latencyCode(p50)) && putExact(at + 3, latencyCode(p95)) && putExact(at + 4, latencyCode(max));
  },

  end(): Buffer {
    // Its own memory, exactly as long as the day (a slice of the shared 8 KiB pool would keep the whole slab alive).
    return Buffer.from(scratch.slice(0, written).buffer);
  },
};

/** The binary form, or undefined when the day holds something it cannot keep exactly. */
function encodeBinary(hours: ReadonlyArray<PeriodTotals | null>): Buffer | undefined {
  names.length = 0;
  let present = 0;
  for (let h = 0; h < hours.length; h++) {
    const hour = hours[h];
    if (!hour) continue;
    present += 2 ** h;
    for (const name in hour.probes) if (hour.probes[name] && !names.includes(name)) names.push(name);
  }
  if (hours.length > 24 || names.length > MAX_BINARY_PROBES) return undefined;
  hoursWriter.begin(names, present);
  for (const hour of hours) {
    if (!hour) continue;
    let mask = 0;
    for (let p = 0; p < names.length; p++) if (hour.probes[names[p]!]) mask |= 1 << p;
    if (!hoursWriter.hour(hour.reachableMs, hour.unreachableMs, hour.pendingMs, hour.maintenanceReachableMs, hour.maintenanceUnreachableMs, hour.conditionChanges, mask)) return undefined;
    for (let p = 0; p < names.length; p++) {
      const stats = hour.probes[names[p]!];
      if (stats && !hoursWriter.probe(p, stats.checks, stats.failed, stats.p50, stats.p95, stats.max)) return undefined;
    }
  }
  return hoursWriter.end();
}

class ByteReader {
  at = 2;
  constructor(private readonly bytes: Uint8Array) {}

  uint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (this.at >= this.bytes.length) throw new Error('stored history hours are cut short');
      const byte = this.bytes[this.at++]!;
      value += (byte % 128) * scale;
      if (byte < 128) return value;
      scale *= 128;
    }
  }

  text(): string {
    const length = this.uint();
    if (this.at + length > this.bytes.length) throw new Error('stored history hours are cut short');
    const text = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.at, length).toString('utf8');
    this.at += length;
    return text;
  }
}

function decodeBinary(blob: Uint8Array): Array<PeriodTotals | null> {
  if (blob[1] !== BINARY_VERSION) throw new Error(`stored history hours have codec version ${String(blob[1])}, this build reads ${JSON_VERSION} and ${BINARY_VERSION}`);
  const reader = new ByteReader(blob);
  const probeNames: string[] = [];
  for (let count = reader.uint(); count > 0; count--) probeNames.push(reader.text());
  const present = reader.uint();
  const last = new Float64Array(HOUR_FIELDS + probeNames.length * PROBE_FIELDS);
  const next = (slot: number): number => {
    const zigzag = reader.uint();
    const value = last[slot]! + (zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2);
    last[slot] = value;
    return value;
  };
  const latency = (slot: number): number | null => {
    const code = next(slot);
    return code === 0 ? null : (code - 1) / 1000;
  };
  const hours: Array<PeriodTotals | null> = [];
  for (let h = 0; h < 24; h++) {
    if (Math.floor(present / 2 ** h) % 2 === 0) {
      hours.push(null);
      continue;
    }
    const hour: PeriodTotals = {
      reachableMs: next(0),
      unreachableMs: next(1),
      pendingMs: next(2),
      maintenanceReachableMs: next(3),
      maintenanceUnreachableMs: next(4),
      conditionChanges: next(5),
      probes: {},
    };
    const mask = reader.uint();
    for (let p = 0; p < probeNames.length; p++) {
      if ((mask & (1 << p)) === 0) continue;
      const at = HOUR_FIELDS + p * PROBE_FIELDS;
      hour.probes[probeNames[p]!] = { checks: next(at), failed: next(at + 1), p50: latency(at + 2), p95: latency(at + 3), max: latency(at + 4) };
    }
    hours.push(hour);
  }
  return hours;
}

// ---- JSON, deflated (version 1)

/*
 * zlib's one-shot calls write into chunks of 16 KiB by default and return a
 * slice of the first: a 600-byte result then keeps 16 KiB of memory outside
 * the JavaScript heap alive. A flush holds a batch of them across its SQL, so
 * scavenges promote them and 10,000 VIMs' days pinned tens of MB until the
 * next full GC (the benchmark's RSS jumped 51 MB at the first flush). Chunks
 * near the real sizes: a deflated day fits in one 1 KiB chunk (more chunks are
 * joined), an inflated one in 8 KiB; the result is then copied out of them.
 */
const DEFLATE_CHUNK = 1024;
const INFLATE_CHUNK = 8192;

function encodeJson(hours: ReadonlyArray<PeriodTotals | null>): Buffer {
  const encoded: EncodedHour[] = hours.map((hour) =>
    hour === null
      ? null
      : [hour.reachableMs, hour.unreachableMs, hour.pendingMs, hour.maintenanceReachableMs, hour.maintenanceUnreachableMs, hour.conditionChanges, encodeProbes(hour.probes)],
  );
  const deflated = deflateRawSync(Buffer.from(JSON.stringify([JSON_VERSION, encoded])), { chunkSize: DEFLATE_CHUNK });
  // Its own memory (Buffer.alloc never slices the shared 8 KiB pool): a slice of the pool would keep the whole slab alive.
  const own = Buffer.alloc(deflated.length);
  deflated.copy(own);
  return own;
}

function decodeJson(blob: Uint8Array): Array<PeriodTotals | null> {
  const parsed = JSON.parse(inflateRawSync(blob, { chunkSize: INFLATE_CHUNK }).toString('utf8')) as [number, EncodedHour[]];
  if (parsed[0] !== JSON_VERSION) throw new Error(`stored history hours have codec version ${String(parsed[0])}, this build reads ${JSON_VERSION} and ${BINARY_VERSION}`);
  return parsed[1].map((hour) =>
    hour === null
      ? null
      : {
          reachableMs: hour[0],
          unreachableMs: hour[1],
          pendingMs: hour[2],
          maintenanceReachableMs: hour[3],
          maintenanceUnreachableMs: hour[4],
          conditionChanges: hour[5],
          probes: decodeProbes(hour[6]),
        },
  );
}

/** The day's probe summary column (plain JSON text: small, and readable in a SQL shell). */
export function encodeProbeSummary(probes: ProbeStatsByName): string {
  return JSON.stringify(encodeProbes(probes));
}

export function decodeProbeSummary(text: string): ProbeStatsByName {
  return decodeProbes(JSON.parse(text) as Record<string, EncodedProbe>);
}

const micro = (ms: number | null): number | null => (ms === null ? null : Math.round(ms * 1000) / 1000);

function encodeProbes(probes: ProbeStatsByName): Record<string, EncodedProbe> {
  const out: Record<string, EncodedProbe> = {};
  for (const [name, stats] of Object.entries(probes)) {
    if (stats) out[name] = [stats.checks, stats.failed, micro(stats.p50), micro(stats.p95), micro(stats.max)];
  }
  return out;
}

function decodeProbes(encoded: Record<string, EncodedProbe>): ProbeStatsByName {
  const out: ProbeStatsByName = {};
  for (const [name, [checks, failed, p50, p95, max]] of Object.entries(encoded)) out[name] = { checks, failed, p50, p95, max } satisfies ProbeStats;
  return out;
}
