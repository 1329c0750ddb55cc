/** Dashboard series: quota_data rows (GET /api/data/) -> per-model series over time (pure). */

export interface QuotaDataRow {
  model_name: string
  /** filled by GET /api/data/users (summed per user and hour; model_name is empty there) */
  username?: string
  created_at: number
  token_used: number
  count: number
  quota: number
}

export type Metric = 'quota' | 'count' | 'token_used'

/** What one series is: a model (GET /api/data/, /data/self) or a user (GET /api/data/users). */
export type SeriesBy = 'model_name' | 'username'

export interface Series {
  /** bucket start times (unix seconds), ascending */
  times: number[]
  /** one series per model (or user), values aligned with `times` */
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
export function buildSeries(
  rows: QuotaDataRow[],
  metric: Metric,
  bucket: number,
  range?: [number, number],
  by: SeriesBy = 'model_name',
): Series {
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
    const name = row[by] ?? ''
    const values = byModel.get(name) ?? new Array<number>(times.length).fill(0)
    values[index.get(start(row.created_at))!] += row[metric]
    byModel.set(name, values)
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

export interface Ranked {
  name: string
  quota: number
  count: number
  tokens: number
}

/** Totals per model or user over the whole range, largest `metric` first, at most `limit`. */
export function ranking(rows: QuotaDataRow[], by: SeriesBy, metric: Metric = 'quota', limit = 10): Ranked[] {
  const sums = new Map<string, Ranked>()
  for (const row of rows) {
    const name = row[by] ?? ''
    const entry = sums.get(name) ?? { name, quota: 0, count: 0, tokens: 0 }
    entry.quota += row.quota
    entry.count += row.count
    entry.tokens += row.token_used
    sums.set(name, entry)
  }
  const key = metric === 'token_used' ? 'tokens' : metric
  return [...sums.values()].sort((a, b) => b[key] - a[key] || a.name.localeCompare(b.name)).slice(0, limit)
}

/** The `limit` largest series as they are, the rest summed into one named `others`. */
export function topSeries(series: Series, limit: number, others = 'others'): Series {
  if (series.models.length <= limit) return series
  const kept = series.models.slice(0, limit)
  const rest = series.models.slice(limit)
  const merged = series.times.map((_, i) => rest.reduce((sum, m) => sum + m.values[i]!, 0))
  return { times: series.times, models: [...kept, { name: others, values: merged }] }
}
