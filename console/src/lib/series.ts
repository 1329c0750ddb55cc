/** Dashboard series: quota_data rows (GET /api/data/) -> per-model series over time (pure). */

export interface QuotaDataRow {
  model_name: string
  created_at: number
  token_used: number
  count: number
  quota: number
}

export type Metric = 'quota' | 'count' | 'token_used'

export interface Series {
  /** bucket start times (unix seconds), ascending */
  times: number[]
  /** one series per model, values aligned with `times` */
  models: { name: string; values: number[] }[]
}

/** Bucket size in seconds for a time range: hours up to 3 days, days beyond. */
export function bucketFor(rangeSeconds: number): number {
  return rangeSeconds > 3 * 86400 ? 86400 : 3600
}

/**
 * Group rows into buckets of `bucket` seconds (local midnight for days) per model. With a
 * `range`, every bucket of the range is on the axis, so quiet hours show as gaps, not as nothing.
 */
export function buildSeries(rows: QuotaDataRow[], metric: Metric, bucket: number, range?: [number, number]): Series {
  const offset = bucket === 86400 ? new Date().getTimezoneOffset() * 60 : 0
  const start = (t: number) => Math.floor((t - offset) / bucket) * bucket + offset
  const stamps = new Set(rows.map((r) => start(r.created_at)))
  if (range && rows.length) {
    for (let t = start(range[0]); t <= range[1]; t += bucket) stamps.add(t)
  }
  const times = [...stamps].sort((a, b) => a - b)
  const index = new Map(times.map((t, i) => [t, i]))
  const byModel = new Map<string, number[]>()
  for (const row of rows) {
    const values = byModel.get(row.model_name) ?? new Array<number>(times.length).fill(0)
    values[index.get(start(row.created_at))!] += row[metric]
    byModel.set(row.model_name, values)
  }
  const models = [...byModel.entries()]
    .map(([name, values]) => ({ name, values }))
    .sort((a, b) => sum(b.values) - sum(a.values))
  return { times, models }
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0)
}

export interface Totals {
  quota: number
  count: number
  tokens: number
}

export function totals(rows: QuotaDataRow[]): Totals {
  return rows.reduce(
    (acc, r) => ({ quota: acc.quota + r.quota, count: acc.count + r.count, tokens: acc.tokens + r.token_used }),
    { quota: 0, count: 0, tokens: 0 },
  )
}
