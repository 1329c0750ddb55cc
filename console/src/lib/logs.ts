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

/** new-api's log types. */
export const LOG_TYPE = { all: 0, topup: 1, consume: 2, manage: 3, system: 4, error: 5, refund: 6, login: 7 } as const

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null
}

/** An error log's (type 5) fields: the HTTP status sent, new-api's error code and type. */
export interface ErrorInfo {
  statusCode: number | null
  errorCode: string | null
  errorType: string | null
}

export function errorInfo(row: Pick<LogRow, 'other'>): ErrorInfo {
  const other = parseOther(row.other)
  const code = other.error_code
  return {
    statusCode: num(other.status_code),
    errorCode: typeof code === 'number' ? String(code) : text(code),
    errorType: text(other.error_type),
  }
}

/** A manage log's (type 3) operation: what was done, with which parameters, by which admin. */
export interface ManageInfo {
  action: string | null
  params: Record<string, unknown>
  admin: string | null
}

export function manageInfo(row: Pick<LogRow, 'other'>): ManageInfo {
  const other = parseOther(row.other)
  const op = (other.op ?? {}) as Record<string, unknown>
  const params = op.params && typeof op.params === 'object' && !Array.isArray(op.params) ? (op.params as Record<string, unknown>) : {}
  const admin = (other.admin_info ?? {}) as Record<string, unknown>
  return { action: text(op.action), params, admin: text(admin.admin_username) }
}

/** `a=1, b=x` for a manage log's parameters (objects as JSON). */
export function formatParams(params: Record<string, unknown>): string {
  return Object.entries(params)
    .map(([name, value]) => `${name}=${typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value)}`)
    .join(', ')
}

/** How a stream ended (admins only: newapi strips it from users' logs). */
export interface StreamStatus {
  status: string
  endReason: string | null
  endError: string | null
}

export function streamStatus(row: Pick<LogRow, 'other'>): StreamStatus | null {
  const value = parseOther(row.other).stream_status
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null
  const status = value as Record<string, unknown>
  return { status: text(status.status) ?? '-', endReason: text(status.end_reason), endError: text(status.end_error) }
}

/** Which key of a multi-key channel served the request (admins only), or null. */
export function multiKeyIndex(row: Pick<LogRow, 'other'>): number | null {
  const admin = parseOther(row.other).admin_info
  if (!admin || typeof admin !== 'object') return null
  return num((admin as Record<string, unknown>).multi_key_index)
}

export type LogColumn =
  | 'time' | 'type' | 'user' | 'channel' | 'token' | 'model' | 'prompt' | 'completion' | 'quota' | 'useTime' | 'stream'
  | 'statusCode' | 'errorCode' | 'errorType' | 'message' | 'action' | 'content' | 'ip' | 'detail'

/**
 * The table's columns for a type filter: token columns for consume logs (and all), the error's
 * status, code, type and message for error logs, the operation for manage logs.
 */
export function logColumns(type: number, admin: boolean): LogColumn[] {
  const who: LogColumn[] = admin ? ['user'] : []
  if (type === LOG_TYPE.error) {
    return ['time', ...who, ...(admin ? (['channel'] as LogColumn[]) : []), 'token', 'model', 'statusCode', 'errorCode', 'errorType', 'message', 'detail']
  }
  if (type === LOG_TYPE.manage) return ['time', ...who, 'action', 'content', 'ip', 'detail']
  if (type === LOG_TYPE.topup || type === LOG_TYPE.system || type === LOG_TYPE.login) {
    return ['time', ...who, 'content', 'quota', 'detail']
  }
  return [
    'time', 'type', ...who, ...(admin ? (['channel'] as LogColumn[]) : []),
    'token', 'model', 'prompt', 'completion', 'quota', 'useTime', 'stream', 'detail',
  ]
}
