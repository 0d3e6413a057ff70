import { Gauge } from 'prom-client';

/** What Gauge#get() resolves to (prom-client does not export the type by name). */
type Exposed<L extends string> = Awaited<ReturnType<Gauge<L>['get']>>;
export type GaugeSample<L extends string> = Exposed<L>['values'][number];

/**
 * A gauge whose series are made when the registry reads it, from state the
 * caller keeps in its own compact form. prom-client keeps, per series, a
 * label object, a value object and a hash key string: for the per-VIM
 * gauges of a 10,000-VIM process (status, conditions, health, latencies)
 * that was 27.6 MB of heap held for the process's life (issue 13). Here a
 * scrape makes its samples and drops them; the exposition is the one
 * prom-client writes for a Gauge with the same series.
 */
export class ComputedGauge<L extends string> extends Gauge<L> {
  /** Never set: it gives the name, help, type and aggregator of the exposition as prom-client words them. */
  private readonly empty: Gauge<L>;

  constructor(
    configuration: { name: string; help: string; labelNames: readonly L[]; registers: ConstructorParameters<typeof Gauge<L>>[0]['registers'] },
    private readonly samples: () => Array<GaugeSample<L>>,
  ) {
    super(configuration);
    this.empty = new Gauge({ name: configuration.name, help: configuration.help, labelNames: configuration.labelNames, registers: [] });
  }

  override async get(): Promise<Exposed<L>> {
    return { ...(await this.empty.get()), values: this.samples() };
  }
}
