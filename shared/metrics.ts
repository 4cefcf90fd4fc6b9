/**
 * A minimal Prometheus registry: gauges and counters with labels, rendered in the text exposition
 * format. Metric names follow MetalLB's so existing dashboards and alerts keep working.
 */
type Labels = Readonly<Record<string, string>>;

interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter';
  readonly values: Map<string, { labels: Labels; value: number }>;
}

const labelKey = (labels: Labels): string => JSON.stringify(Object.entries(labels).sort());
const escape = (value: string): string =>
  value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

export class Gauge {
  constructor(private readonly family: Family) {}

  set(labels: Labels, value: number): void {
    this.family.values.set(labelKey(labels), { labels, value });
  }

  delete(labels: Labels): void {
    this.family.values.delete(labelKey(labels));
  }

  /** Drops every series whose labels are not in `keep` (e.g. pools removed from the config). */
  retain(keep: (labels: Labels) => boolean): void {
    for (const [key, entry] of this.family.values) if (!keep(entry.labels)) this.family.values.delete(key);
  }
}

export class Counter {
  constructor(private readonly family: Family) {}

  inc(labels: Labels = {}, by = 1): void {
    this.child(labels).inc(by);
  }

  /** A handle bound to one label set, for hot paths: no label encoding per increment. */
  child(labels: Labels = {}): { inc(by?: number): void } {
    const key = labelKey(labels);
    let entry = this.family.values.get(key);
    if (!entry) {
      entry = { labels, value: 0 };
      this.family.values.set(key, entry);
    }
    const series = entry;
    return {
      inc: (by = 1) => {
        series.value += by;
      },
    };
  }
}

export class Registry {
  private readonly families = new Map<string, Family>();
  private readonly collectors: (() => void)[] = [];

  /** Runs `collect` before every render, for values owned elsewhere (read at scrape time). */
  onCollect(collect: () => void): void {
    this.collectors.push(collect);
  }

  gauge(name: string, help: string): Gauge {
    return new Gauge(this.register(name, help, 'gauge'));
  }

  counter(name: string, help: string): Counter {
    return new Counter(this.register(name, help, 'counter'));
  }

  /** The current value of one series, for tests and health logic. */
  value(name: string, labels: Labels = {}): number | undefined {
    return this.families.get(name)?.values.get(labelKey(labels))?.value;
  }

  render(): string {
    for (const collect of this.collectors) collect();
    const lines: string[] = [];
    for (const family of this.families.values()) {
      lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`);
      for (const { labels, value } of family.values.values()) {
        const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escape(v)}"`);
        lines.push(`${family.name}${pairs.length ? `{${pairs.join(',')}}` : ''} ${value}`);
      }
    }
    return lines.join('\n') + '\n';
  }

  private register(name: string, help: string, type: Family['type']): Family {
    if (this.families.has(name)) throw new Error(`metric ${name} registered twice`);
    const family: Family = { name, help, type, values: new Map() };
    this.families.set(name, family);
    return family;
  }
}
