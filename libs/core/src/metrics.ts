/**
 * The metric registry: every accuracy, error, latency, throughput and cost figure kvplan reports,
 * with its unit and its direction, so a chart, a front or a verdict never has to guess whether
 * larger is better.
 */
export interface MetricInfo {
  name: string;
  /** Human label for axes and tables. */
  label: string;
  /** `fraction`, `ratio`, `nats`, `tokens/s`, `req/s`, `ms`, `USD/Mtok`, ... */
  unit: string;
  higherIsBetter: boolean;
}

const m = (name: string, label: string, unit: string, higherIsBetter: boolean): MetricInfo => ({
  name,
  label,
  unit,
  higherIsBetter,
});

/** The fixed names; `top<k>-attention-overlap` is matched by pattern (see metricInfo). */
export const METRICS: Readonly<Record<string, MetricInfo>> = Object.fromEntries(
  [
    // Accuracy under fusion: proxies on a KV sample (libs/fusion) ...
    m('attention-output-rel-error', 'attention output relative error', 'ratio', false),
    // ... and measured on a model (libs/model).
    m('next-token-agreement', 'next-token agreement', 'fraction', true),
    m('next-token-kl-nats', 'next-token KL divergence', 'nats', false),
    m('perplexity-change', 'perplexity change', 'ratio', false),
    m('greedy-exact-match', 'greedy exact match', 'fraction', true),
    m('greedy-token-f1', 'greedy token F1', 'fraction', true),
    m('greedy-token-match', 'greedy token match', 'fraction', true),
    // Serving figures of a projection or a capacity sweep.
    m('output_throughput', 'output tokens/s', 'tokens/s', true),
    m('request_throughput', 'requests/s', 'req/s', true),
    m('request_goodput', 'goodput', 'req/s', true),
    m('max_rate_per_gpu', 'highest rate per GPU within the SLOs', 'req/s', true),
    m('cost_per_million_output_tokens_usd', 'cost per million output tokens', 'USD/Mtok', false),
    m('usd_per_hour', 'price per hour of the GPUs that serve the rate', 'USD/h', false),
    m('p99_ttft_ms', 'p99 TTFT', 'ms', false),
    m('p99_tpot_ms', 'p99 TPOT', 'ms', false),
    m('p99_e2el_ms', 'p99 end-to-end latency', 'ms', false),
    // The fusion threshold itself, where no accuracy was measured: higher fuses less.
    m('fusion-threshold', 'similarity threshold (higher fuses less)', 'cosine', true),
  ].map((x) => [x.name, x]),
);

const TOP_K_OVERLAP = /^top(\d+)-attention-overlap$/;

/** The registry entry of a metric name, or null for a name kvplan does not know. */
export function metricInfo(name: string): MetricInfo | null {
  const known = METRICS[name];
  if (known) return known;
  const k = TOP_K_OVERLAP.exec(name);
  if (k) return m(name, `top-${k[1]} attention overlap`, 'fraction', true);
  return null;
}

/** `higherIsBetter` of a metric; throws for an unknown name (a producer must register its metrics). */
export function higherIsBetter(name: string): boolean {
  const info = metricInfo(name);
  if (!info) throw new Error(`unknown metric ${JSON.stringify(name)}: add it to the metric registry`);
  return info.higherIsBetter;
}
