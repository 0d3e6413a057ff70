import { HEALTH_LAYERS, type Condition, type ConditionResult, type ConditionType, type Health, type HealthLayer } from './condition.js';

/** What a VIM's conditions say together. */
export interface Assessment {
  /** In layer order (network first), then in the order the checks reported them. */
  conditions: Condition[];
  health: Health;
  /** The lowest layer with a False condition: what the verdict names (null when none is False). */
  failingLayer: HealthLayer | null;
  /** One sentence naming the first failing layer and why, or that every condition holds. */
  reason: string;
}

const LAYER_INDEX: Record<HealthLayer, number> = Object.fromEntries(HEALTH_LAYERS.map((layer, index) => [layer, index])) as Record<HealthLayer, number>;

/**
 * A check above a layer whose required condition failed says nothing useful
 * (a service behind an unreachable network "fails" too): such results become
 * Unknown, so the verdict names the layer that broke, not every layer above it.
 * Only error-severity failures block: a DEGRADED watched service does not stop
 * capacity from being measured.
 */
export function gateByLayer(results: readonly ConditionResult[]): ConditionResult[] {
  let blocking: HealthLayer | undefined;
  for (const result of results) {
    if (result.status === 'False' && result.severity === 'error' && (blocking === undefined || LAYER_INDEX[result.layer] < LAYER_INDEX[blocking])) {
      blocking = result.layer;
    }
  }
  if (blocking === undefined) return [...results];
  const limit = LAYER_INDEX[blocking];
  return results.map((result) =>
    LAYER_INDEX[result.layer] > limit ? { ...result, status: 'Unknown', reason: `not checked: ${blocking} failed` } : result,
  );
}

/**
 * Whether `results` would change what is stored: a condition appeared or
 * disappeared, or its status or severity changed. A reason alone does not
 * count (probe reasons carry latencies that differ every round, and storing
 * every round would cost one write per VIM per interval).
 */
export function conditionsDiffer(previous: readonly Condition[], results: readonly ConditionResult[]): boolean {
  if (previous.length !== results.length) return true;
  for (const result of results) {
    const before = previous.find((condition) => condition.type === result.type);
    if (!before || before.status !== result.status || before.severity !== result.severity || before.layer !== result.layer) return true;
  }
  return false;
}

/** DOWN if a required (error) condition is False, DEGRADED if a watched (warning) one is, else OK. */
export function deriveHealth(conditions: readonly ConditionResult[]): Health {
  let health: Health = 'OK';
  for (const condition of conditions) {
    if (condition.status !== 'False') continue;
    if (condition.severity === 'error') return 'DOWN';
    if (condition.severity === 'warning') health = 'DEGRADED';
  }
  return health;
}

/**
 * Merges the latest results of the checks with the previous conditions:
 * `since` moves only when a condition's status changes, `last_checked` is
 * `now` for every reported condition. A type no check reports any more is
 * dropped. Results above a failed layer are Unknown (gateByLayer).
 */
export function assess(previous: readonly Condition[], results: readonly ConditionResult[], now: string): Assessment {
  const gated = gateByLayer(results)
    .map((result, order) => ({ result, order }))
    .sort((a, b) => LAYER_INDEX[a.result.layer] - LAYER_INDEX[b.result.layer] || a.order - b.order)
    .map(({ result }) => result);
  const conditions = gated.map((result): Condition => {
    const before = previous.find((condition) => condition.type === result.type);
    const since = before && before.status === result.status ? before.since : now;
    return { type: result.type, layer: result.layer, status: result.status, severity: result.severity, reason: result.reason, since, last_checked: now };
  });
  const failing = conditions.find((condition) => condition.status === 'False');
  return {
    conditions,
    health: deriveHealth(conditions),
    failingLayer: failing?.layer ?? null,
    reason: failing ? `${failing.layer} failed: ${failing.type}: ${failing.reason}` : conditions.length === 0 ? 'nothing checked yet' : 'every condition holds',
  };
}

/** The types that appeared, went away, or changed status or severity: what a `vim.health.update` event lists. */
export function changedTypes(previous: readonly Condition[], results: readonly ConditionResult[]): ConditionType[] {
  const changed: ConditionType[] = [];
  for (const result of results) {
    const before = previous.find((condition) => condition.type === result.type);
    if (!before || before.status !== result.status || before.severity !== result.severity || before.layer !== result.layer) changed.push(result.type);
  }
  for (const condition of previous) if (!results.some((result) => result.type === condition.type)) changed.push(condition.type);
  return changed;
}
