import { createHash } from 'node:crypto';

/** A live worker that could probe a VIM for its owner. */
export interface Vantage {
  id: string;
  /** `manager.zone`; null when it declared none (then its location is unknown: it counts as another zone). */
  zone: string | null;
}

/**
 * Up to `count` other workers to confirm a down verdict on `vimId`, workers
 * of other zones first and as many different zones as possible (a failure
 * seen from two sites is a failure; seen from two racks of one site it may
 * be that site's uplink), then workers of the owner's own zone. Among equals
 * the order is a hash of the VIM id, so that a burst of requests spreads
 * over every worker instead of landing on the first one.
 */
export function chooseConfirmers(self: Vantage, live: readonly Vantage[], count: number, vimId: string): Vantage[] {
  const others = live.filter((worker) => worker.id !== self.id);
  const elsewhere = others.filter((worker) => otherZone(self, worker));
  const sameZone = others.filter((worker) => !otherZone(self, worker));
  const byZone = new Map<string, Vantage[]>();
  for (const worker of elsewhere) {
    // A worker without a zone is a location of its own.
    const key = worker.zone ?? `\u0000${worker.id}`;
    byZone.set(key, [...(byZone.get(key) ?? []), worker]);
  }
  const zones = [...byZone.entries()]
    .sort(([a], [b]) => rank(vimId, a) - rank(vimId, b) || a.localeCompare(b))
    .map(([, workers]) => spread(vimId, workers));
  const chosen: Vantage[] = [];
  // One worker per zone in turn, so two asked workers are in two zones whenever two zones exist.
  for (let round = 0; chosen.length < count && zones.some((workers) => workers.length > round); round++) {
    for (const workers of zones) {
      const worker = workers[round];
      if (worker && chosen.length < count) chosen.push(worker);
    }
  }
  for (const worker of spread(vimId, sameZone)) if (chosen.length < count) chosen.push(worker);
  return chosen;
}

function otherZone(self: Vantage, worker: Vantage): boolean {
  return self.zone === null || worker.zone === null || worker.zone !== self.zone;
}

function spread(vimId: string, workers: readonly Vantage[]): Vantage[] {
  return [...workers].sort((a, b) => rank(vimId, a.id) - rank(vimId, b.id) || a.id.localeCompare(b.id));
}

function rank(vimId: string, key: string): number {
  return createHash('sha1').update(vimId).update('\u0000').update(key).digest().readUInt32BE(0);
}
