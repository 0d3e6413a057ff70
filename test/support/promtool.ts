import { spawn } from 'node:child_process';

/**
 * The real `promtool check metrics` (Prometheus's own parser and linter) run
 * on an exposition. A missing promtool is a failure that says how to install
 * it, never a skipped test.
 */

const INSTALL_HINT =
  'promtool is needed to validate the /metrics exposition: install the Debian package `prometheus` ' +
  '(apt-get install -y --no-install-recommends prometheus; it starts no daemon where invoke-rc.d is denied, ' +
  'otherwise stop it with `systemctl disable --now prometheus`), or set PROMTOOL to the path of a promtool binary. ' +
  '`bash .ci/run` installs it.';

export interface PromtoolResult {
  /** 0: valid and lint-clean; 1: unparseable; 3: lint problems. */
  exitCode: number;
  /** What promtool printed (stdout and stderr): one line per problem. */
  output: string;
}

/** promtool's binary: $PROMTOOL, or `promtool` on the PATH. */
export function promtoolBinary(): string {
  return process.env.PROMTOOL ?? 'promtool';
}

/** Runs `promtool check metrics` with the exposition on stdin. Rejects with the install hint when promtool is missing. */
export function runPromtoolCheckMetrics(exposition: string): Promise<PromtoolResult> {
  const binary = promtoolBinary();
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') reject(new Error(`${binary} not found. ${INSTALL_HINT}`));
      else reject(new Error(`could not run ${binary}: ${error.message}. ${INSTALL_HINT}`));
    });
    child.on('close', (code, signal) => {
      const output = Buffer.concat(chunks).toString('utf8');
      if (code === null) reject(new Error(`${binary} check metrics was killed by ${signal ?? 'a signal'}: ${output}`));
      else resolve({ exitCode: code, output });
    });
    // promtool may exit before reading all of a bad input; its verdict is what counts.
    child.stdin.on('error', () => undefined);
    child.stdin.end(exposition);
  });
}

/** Resolves when promtool accepts the exposition without a single lint problem; otherwise rejects with promtool's output. */
export async function expectPromtoolAccepts(exposition: string): Promise<void> {
  const { exitCode, output } = await runPromtoolCheckMetrics(exposition);
  if (exitCode !== 0 || output.trim() !== '') {
    throw new Error(`promtool check metrics refused the exposition (exit ${exitCode}):\n${output}`);
  }
}

/** One sample line of a text exposition. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (comments skipped), for assertions; promtool does the validating. */
export function parseExposition(exposition: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of exposition.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(\s+\d+)?$/.exec(line);
    if (!match) throw new Error(`not an exposition sample line: ${line}`);
    const [, name = '', rawLabels, rawValue = ''] = match;
    samples.push({ name, labels: rawLabels ? parseLabels(rawLabels.slice(1, -1)) : {}, value: parseSampleValue(rawValue) });
  }
  return samples;
}

/** Samples of one metric whose labels include all of `labels`. */
export function samplesOf(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value));
}

/** The value of the one sample of `name` with exactly these labels (among others absent from the filter); undefined if none. */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samplesOf(samples, name, labels).filter((s) => Object.keys(s.labels).length === Object.keys(labels).length);
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

function parseSampleValue(raw: string): number {
  // Prometheus parses these case-insensitively (Go's ParseFloat); prom-client writes NaN as `Nan`.
  const lower = raw.toLowerCase();
  if (lower === '+inf' || lower === 'inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (lower === 'nan') return NaN;
  const value = Number(raw);
  if (Number.isNaN(value)) throw new Error(`not a sample value: ${raw}`);
  return value;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.length > 0) {
    const head = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(rest);
    if (!head) throw new Error(`bad label set: {${text}}`);
    let index = head[0].length;
    let value = '';
    for (; index < rest.length && rest[index] !== '"'; index += 1) {
      if (rest[index] === '\\') {
        index += 1;
        value += rest[index] === 'n' ? '\n' : (rest[index] ?? '');
      } else value += rest[index];
    }
    labels[head[1] ?? ''] = value;
    rest = rest.slice(index + 1).replace(/^\s*,/, '');
  }
  return labels;
}
