import { Histogram } from 'prom-client';

/** What Histogram#get() resolves to (prom-client does not export the type by name). */
type Exposed<L extends string> = Awaited<ReturnType<Histogram<L>['get']>>;
type ExposedValue<L extends string> = Exposed<L>['values'][number];

/** One label value's counts: per bucket (not cumulative), plus the sum and count of every observation. */
interface Tally {
  readonly value: string;
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/**
 * A histogram with one label whose values are known up front (the probe
 * names), counted in plain arrays and handed to prom-client only when the
 * registry reads it. prom-client's observe() validates and hashes the label
 * object of every call and allocates on the way: with one latency per check
 * (100 checks a second at 1,000 VIMs) that was a few per cent of the main
 * thread and about 60 kB a second of garbage (issue 13). The exposition is
 * what prom-client's own Histogram writes: cumulative buckets, +Inf, _sum,
 * _count; a series appears with its value's first observation, in the order
 * of first observations.
 */
export class TalliedHistogram<L extends string> extends Histogram<L> {
  private readonly bounds: readonly number[];
  private readonly byIndex: Array<Tally | undefined>;
  private readonly shown: Tally[] = [];
  private readonly metricName: string;
  /** Never observed: it gives the name, help, type and aggregator of the exposition as prom-client words them. */
  private readonly empty: Histogram<L>;

  constructor(
    private readonly labelName: L,
    private readonly labelValues: readonly string[],
    configuration: { name: string; help: string; buckets: readonly number[]; registers: ConstructorParameters<typeof Histogram<L>>[0]['registers'] },
  ) {
    super({ ...configuration, buckets: [...configuration.buckets], labelNames: [labelName] });
    this.metricName = configuration.name;
    this.empty = new Histogram({ name: configuration.name, help: configuration.help, buckets: [...configuration.buckets], labelNames: [labelName], registers: [] });
    this.bounds = [...configuration.buckets].sort((a, b) => a - b);
    this.byIndex = new Array<Tally | undefined>(labelValues.length).fill(undefined);
  }

  /** One observation for `labelValues[index]`; `value` must be finite (the callers check). */
  observeAt(index: number, value: number): void {
    let tally = this.byIndex[index];
    if (tally === undefined) {
      tally = { value: this.labelValues[index] as string, buckets: new Float64Array(this.bounds.length), sum: 0, count: 0 };
      this.byIndex[index] = tally;
      this.shown.push(tally);
    }
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= (bounds[i] as number)) {
        tally.buckets[i] = (tally.buckets[i] as number) + 1;
        break;
      }
    }
    tally.sum += value;
    tally.count += 1;
  }

  override async get(): Promise<Exposed<L>> {
    return { ...(await this.empty.get()), values: this.values() };
  }

  /** What the registry reads for the text format (prom-client calls it instead of get() when it exists). */
  getForPromString(): Promise<Exposed<L>> {
    return this.get();
  }

  override reset(): void {
    // prom-client's constructor calls it too, before the fields of this class exist.
    if ((this.byIndex as Array<Tally | undefined> | undefined) === undefined) return;
    this.byIndex.fill(undefined);
    this.shown.length = 0;
  }

  private values(): Array<ExposedValue<L>> {
    const values: Array<ExposedValue<L>> = [];
    const bucketName = `${this.metricName}_bucket`;
    for (const tally of this.shown) {
      const own = { [this.labelName]: tally.value } as Partial<Record<L, string>>;
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += tally.buckets[i] as number;
        values.push({ metricName: bucketName, labels: { le: bound, ...own } as ExposedValue<L>['labels'], value: cumulative });
      });
      values.push({ metricName: bucketName, labels: { le: '+Inf', ...own } as ExposedValue<L>['labels'], value: tally.count });
      values.push({ metricName: `${this.metricName}_sum`, labels: own, value: tally.sum });
      values.push({ metricName: `${this.metricName}_count`, labels: own, value: tally.count });
    }
    return values;
  }
}
