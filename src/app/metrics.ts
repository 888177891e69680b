/**
 * A small Prometheus registry: counters, histograms and gauges read at scrape time. herald needs
 * a dozen series, not a client library's worth.
 */
type Labels = Readonly<Record<string, string>>;

interface Series {
  render(): Promise<string[]>;
}

const labelText = (labels: Labels): string => {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  return `{${entries.map(([key, value]) => `${key}="${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`).join(",")}}`;
};

export class Counter implements Series {
  #values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    const entry = this.#values.get(key);
    if (entry) entry.value += by;
    else this.#values.set(key, { labels, value: by });
  }

  async render(): Promise<string[]> {
    return [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} counter`,
      ...[...this.#values.values()].map(({ labels, value }) => `${this.name}${labelText(labels)} ${value}`),
    ];
  }
}

export class Histogram implements Series {
  #series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {}

  observe(value: number, labels: Labels = {}): void {
    const key = labelText(labels);
    let entry = this.#series.get(key);
    if (!entry) {
      entry = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.#series.set(key, entry);
    }
    for (const [index, bound] of this.buckets.entries())
      if (value <= bound) entry.counts[index] = (entry.counts[index] ?? 0) + 1;
    entry.sum += value;
    entry.count++;
  }

  async render(): Promise<string[]> {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const { labels, counts, sum, count } of this.#series.values()) {
      for (const [index, bound] of this.buckets.entries()) {
        lines.push(`${this.name}_bucket${labelText({ ...labels, le: String(bound) })} ${counts[index] ?? 0}`);
      }
      lines.push(`${this.name}_bucket${labelText({ ...labels, le: "+Inf" })} ${count}`);
      lines.push(`${this.name}_sum${labelText(labels)} ${sum}`, `${this.name}_count${labelText(labels)} ${count}`);
    }
    return lines;
  }
}

type GaugeValues = readonly { labels?: Labels; value: number }[];

export interface GaugeOptions {
  /**
   * Reuse a read for this long (ms): a gauge read from the database would otherwise cost its queries
   * on every scrape, and scrapes come from anyone who can reach /metrics. Scrapes during a read share it.
   */
  readonly cacheMs?: number;
}

export class Gauge implements Series {
  #cached: { readonly at: number; readonly values: Promise<GaugeValues> } | undefined;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => Promise<GaugeValues> | GaugeValues,
    private readonly options: GaugeOptions & { readonly now: () => number } = { now: Date.now },
  ) {}

  async render(): Promise<string[]> {
    const head = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    let values: GaugeValues;
    try {
      values = await this.#values();
    } catch (error) {
      // One gauge that cannot be read (a read model's table not created yet at start-up, a database
      // hiccup) must not fail the whole scrape: it reports no sample this time. Only the error's
      // name, in a comment: its message may quote a query.
      return [...head, `# ${this.name} unavailable: ${(error as Error).name}`];
    }
    return [...head, ...values.map(({ labels, value }) => `${this.name}${labelText(labels ?? {})} ${value}`)];
  }

  #values(): Promise<GaugeValues> {
    const { cacheMs = 0, now } = this.options;
    if (cacheMs <= 0) return Promise.resolve(this.read());
    const at = now();
    if (this.#cached && at - this.#cached.at < cacheMs) return this.#cached.values;
    const values = Promise.resolve().then(() => this.read());
    const entry = { at, values };
    this.#cached = entry;
    // A failed read is not kept: the next scrape tries again.
    values.catch(() => {
      if (this.#cached === entry) this.#cached = undefined;
    });
    return values;
  }
}

export class MetricsRegistry {
  #series: Series[] = [];

  /** `now`: the clock that cached gauges age by (tests pass their own). */
  constructor(private readonly now: () => number = Date.now) {}

  counter(name: string, help: string): Counter {
    return this.#add(new Counter(name, help));
  }

  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.#add(new Histogram(name, help, buckets));
  }

  gauge(name: string, help: string, read: ConstructorParameters<typeof Gauge>[2], options: GaugeOptions = {}): Gauge {
    return this.#add(new Gauge(name, help, read, { ...options, now: this.now }));
  }

  async render(): Promise<string> {
    const blocks = await Promise.all(this.#series.map((series) => series.render()));
    return `${blocks.flat().join("\n")}\n`;
  }

  #add<T extends Series>(series: T): T {
    this.#series.push(series);
    return series;
  }
}
