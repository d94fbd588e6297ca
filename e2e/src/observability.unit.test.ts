// The Grafana dashboard and the Prometheus alerts refer only to metrics (and labels) the code exports.
import { MetricsService } from '@parley/service-kit';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { read, registeredMetrics } from './source-facts.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- dashboard JSON and rule files are free-form

/** The consumers' dead-letter and lag metrics (the event-path rework exports them); allowed by name so this test does not depend on which branch lands first. */
const ANNOUNCED: Record<string, string[]> = { parley_events_parked_total: ['consumer'], parley_consumer_lag_events: ['consumer'] };
/** Labels Prometheus adds when it scrapes a pod (target labels), and histogram buckets' `le`. */
const TARGET_LABELS = ['namespace', 'pod', 'le'];

/** Every parley_* metric the code exports, with its label names and type. */
function exportedMetrics(): Map<string, { labels: string[]; histogram: boolean }> {
  const metrics = new Map<string, { labels: string[]; histogram: boolean }>();
  // The service kit's registry as a service builds it: request, event and delivery metrics plus the process defaults.
  const registry = new MetricsService().registry;
  for (const m of registry.getMetricsAsArray() as unknown as { name: string; labelNames?: string[]; type?: string; constructor: { name: string } }[]) {
    metrics.set(m.name, { labels: m.labelNames ?? [], histogram: m.constructor.name === 'Histogram' });
  }
  // Metrics a service registers on that registry itself (parley_offers_total in the router).
  for (const [name, labels] of registeredMetrics()) if (!metrics.has(name)) metrics.set(name, { labels, histogram: false });
  for (const [name, labels] of Object.entries(ANNOUNCED)) if (!metrics.has(name)) metrics.set(name, { labels, histogram: false });
  return metrics;
}

const exported = exportedMetrics();

/** The parley_* metrics an expression selects, with the label names its matchers use. */
function selections(expr: string): { metric: string; matchers: string[] }[] {
  return [...expr.matchAll(/\b(parley_[a-z0-9_]+)(\{([^}]*)\})?/g)].map((m) => ({
    metric: m[1]!,
    matchers: [...(m[3] ?? '').matchAll(/([a-z_]+)\s*(=~|!~|!=|=)/g)].map((x) => x[1]!),
  }));
}

/** Resolves a selected series name to the exported metric (a histogram's _bucket, _sum and _count). */
function metricOf(series: string): { labels: string[]; histogram: boolean } | undefined {
  if (exported.has(series)) return exported.get(series);
  const base = series.replace(/_(bucket|sum|count)$/, '');
  const m = exported.get(base);
  return m?.histogram ? m : undefined;
}

function checkExpressions(exprs: string[]): string[] {
  const problems: string[] = [];
  for (const expr of exprs) {
    const selected = selections(expr);
    for (const { metric, matchers } of selected) {
      const m = metricOf(metric);
      if (!m) {
        problems.push(`${metric}: not exported by the code`);
        continue;
      }
      for (const label of matchers) if (![...m.labels, ...TARGET_LABELS].includes(label)) problems.push(`${metric}: no label ${label}`);
    }
    // Grouping labels of an expression over Parley's metrics only must be labels those metrics have.
    if (selected.length > 0 && !/\b(kube_|up\b)/.test(expr)) {
      const labels = new Set([...TARGET_LABELS, ...selected.flatMap((s) => metricOf(s.metric)?.labels ?? [])]);
      for (const by of expr.matchAll(/\bby\s*\(([^)]*)\)/g))
        for (const l of by[1]!.split(',').map((x) => x.trim())) if (!labels.has(l)) problems.push(`${expr}: groups by ${l}, which its metrics lack`);
    }
  }
  return problems;
}

const dashboard = JSON.parse(read('infra/grafana/parley-dashboard.json')) as Obj;
const dashboardExprs = (dashboard.panels as Obj[]).flatMap((p) => (p.targets ?? []).map((t: Obj) => t.expr as string));
const rules = ((parse(read('infra/prometheus/alerts.yaml')) as Obj).groups as Obj[]).flatMap((g) => g.rules as Obj[]);

describe('metric names', () => {
  it("reads what the code exports, from the service kit's registry and the services' own registrations", () => {
    expect(exported.get('parley_requests_total')?.labels).toEqual(['subject', 'outcome']);
    expect(exported.get('parley_request_duration_seconds')?.histogram).toBe(true);
    expect(exported.get('parley_offers_total')?.labels).toEqual(['outcome']);
    expect(exported.has('parley_process_cpu_seconds_total')).toBe(true);
  });

  it('catches a metric or a label the code does not have', () => {
    expect(checkExpressions(['rate(parley_requests_totl[5m])'])).toEqual(['parley_requests_totl: not exported by the code']);
    expect(checkExpressions(['rate(parley_requests_total{queue="a"}[5m])'])).toEqual(['parley_requests_total: no label queue']);
    expect(checkExpressions(['sum by (queue) (rate(parley_events_handled_total[5m]))'])).toHaveLength(1);
    expect(checkExpressions(['histogram_quantile(0.9, sum by (le, subject) (rate(parley_request_duration_seconds_bucket[5m])))'])).toEqual([]);
  });
});

describe('infra/grafana/parley-dashboard.json', () => {
  it('refers only to metrics and labels the code exports', () => {
    expect(dashboardExprs.length).toBeGreaterThan(10);
    expect(checkExpressions(dashboardExprs)).toEqual([]);
  });

  it('has the panels an operator looks at', () => {
    const has = (re: RegExp) =>
      expect(
        dashboardExprs.some((e) => re.test(e)),
        String(re),
      ).toBe(true);
    has(/by \(consumer, outcome\) \(rate\(parley_events_handled_total/);
    has(/by \(subject\) \(rate\(parley_requests_total/);
    has(/by \(subject, outcome\) \(rate\(parley_requests_total\{[^}]*outcome!="ok"/);
    has(/parley_consumer_lag_events/);
    has(/parley_events_parked_total/);
    has(/kube_deployment_status_replicas_available/);
    has(/parley_offers_total\{[^}]*outcome="expired"/);
  });

  it("queries the dashboard's Prometheus data source in every panel", () => {
    for (const p of (dashboard.panels as Obj[]).filter((x) => x.type !== 'row')) {
      expect(p.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(p.targets.length).toBeGreaterThan(0);
    }
    expect((dashboard.templating.list as Obj[]).map((v) => v.name)).toEqual(['datasource', 'namespace']);
  });
});

describe('infra/prometheus/alerts.yaml', () => {
  it('refers only to metrics and labels the code exports', () => {
    expect(checkExpressions(rules.map((r) => r.expr as string))).toEqual([]);
  });

  it('alerts on what an operator must act on, each with a severity and a summary', () => {
    const on = (re: RegExp) => rules.filter((r) => re.test(r.expr));
    expect(on(/parley_consumer_lag_events/).length).toBeGreaterThan(0);
    expect(on(/parley_events_parked_total/).length).toBeGreaterThan(0);
    expect(on(/kube_deployment_status_replicas_available/).length).toBeGreaterThan(0);
    expect(on(/parley_offers_total\{[^}]*outcome="expired"/).length).toBeGreaterThan(0);
    for (const r of rules) {
      expect(r.alert).toMatch(/^Parley[A-Za-z]+$/);
      expect(['warning', 'critical']).toContain(r.labels.severity);
      expect(r.annotations.summary).toBeTruthy();
    }
  });
});
