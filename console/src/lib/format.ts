/** Pure display helpers: quota as money, times, durations. */

/** new-api's QuotaPerUnit: 500 000 quota is one US dollar unless /api/status says otherwise. */
export const DEFAULT_QUOTA_PER_UNIT = 500_000

export function quotaToUsd(quota: number, perUnit = DEFAULT_QUOTA_PER_UNIT): number {
  return perUnit > 0 ? quota / perUnit : 0
}

export function usdToQuota(usd: number, perUnit = DEFAULT_QUOTA_PER_UNIT): number {
  return Math.round(usd * perUnit)
}

/** `$1.23`; small amounts keep enough digits to not read as zero. */
export function formatQuota(quota: number, perUnit = DEFAULT_QUOTA_PER_UNIT): string {
  const usd = quotaToUsd(quota, perUnit)
  if (usd === 0) return '$0'
  if (Math.abs(usd) >= 1) return `$${usd.toFixed(2)}`
  return `$${usd.toFixed(6).replace(/0+$/, '').replace(/\.(\d)$/, '.$10')}`
}

export function formatNumber(value: number): string {
  return new Intl.NumberFormat('en-US').format(value)
}

function pad(n: number): string {
  return String(n).padStart(2, '0')
}

/** A unix time as local `YYYY-MM-DD HH:MM:SS`; 0 or negative is "never"/"-". */
export function formatTime(seconds: number | null | undefined, never = '-'): string {
  if (!seconds || seconds <= 0) return never
  const d = new Date(seconds * 1000)
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  )
}

/** Channel response times are stored in milliseconds. */
export function formatLatency(milliseconds: number): string {
  if (!milliseconds) return '-'
  return milliseconds >= 1000 ? `${(milliseconds / 1000).toFixed(2)} s` : `${milliseconds} ms`
}

/** Split a comma or newline separated list, trimmed, without empties or duplicates. */
export function splitList(text: string | null | undefined): string[] {
  const seen = new Set<string>()
  for (const part of (text ?? '').split(/[,\n]/)) {
    const item = part.trim()
    if (item) seen.add(item)
  }
  return [...seen]
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}
