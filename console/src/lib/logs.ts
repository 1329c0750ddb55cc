/** Log rows and the details read from their `other` JSON (pure). */

export interface LogRow {
  id: number
  created_at: number
  type: number
  content: string
  username: string
  token_name: string
  model_name: string
  quota: number
  prompt_tokens: number
  completion_tokens: number
  use_time: number
  is_stream: boolean
  channel: number
  channel_name?: string
  group: string
  ip: string
  request_id: string
  other: string
}

export interface LogDetail {
  modelRatio: number | null
  completionRatio: number | null
  groupRatio: number | null
  cacheRatio: number | null
  modelPrice: number | null
  cacheTokens: number
  cacheWriteTokens: number
  firstByteMs: number | null
  channelsTried: number[]
  upstreamModel: string | null
  requestPath: string | null
  raw: Record<string, unknown>
}

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null
}

export function parseOther(text: string): Record<string, unknown> {
  if (!text) return {}
  try {
    const value = JSON.parse(text)
    return value && typeof value === 'object' && !Array.isArray(value) ? value : {}
  } catch {
    return {}
  }
}

export function logDetail(row: LogRow): LogDetail {
  const other = parseOther(row.other)
  const admin = (other.admin_info ?? {}) as Record<string, unknown>
  const tried = Array.isArray(admin.use_channel) ? admin.use_channel.filter((id): id is number => typeof id === 'number') : []
  const price = num(other.model_price)
  return {
    modelRatio: num(other.model_ratio),
    completionRatio: num(other.completion_ratio),
    groupRatio: num(other.group_ratio),
    cacheRatio: num(other.cache_ratio),
    modelPrice: price !== null && price >= 0 ? price : null,
    cacheTokens: num(other.cache_tokens) ?? 0,
    cacheWriteTokens: num(other.cache_creation_tokens) ?? 0,
    firstByteMs: num(other.frt),
    channelsTried: tried,
    upstreamModel: typeof other.upstream_model_name === 'string' ? other.upstream_model_name : null,
    requestPath: typeof other.request_path === 'string' ? other.request_path : null,
    raw: other,
  }
}

/** Retries are the channels tried beyond the first. */
export function retries(detail: LogDetail): number {
  return Math.max(detail.channelsTried.length - 1, 0)
}
