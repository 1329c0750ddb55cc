/** API keys: the form <-> the admin API's token JSON (pure). */
import { splitList, usdToQuota, quotaToUsd } from './format'

export interface Token {
  id: number
  name: string
  key: string
  status: number
  created_time: number
  accessed_time: number
  expired_time: number
  remain_quota: number
  unlimited_quota: boolean
  used_quota: number
  model_limits_enabled: boolean
  model_limits: string
  allow_ips: string
  group: string
}

export const TOKEN_STATUS = { enabled: 1, disabled: 2, expired: 3, exhausted: 4 } as const

export interface TokenForm {
  id: number | null
  name: string
  unlimited: boolean
  quotaUsd: number
  /** unix seconds, or null for never */
  expiresAt: number | null
  modelLimits: string[]
  allowIps: string
  group: string
}

export function emptyTokenForm(): TokenForm {
  return { id: null, name: '', unlimited: true, quotaUsd: 10, expiresAt: null, modelLimits: [], allowIps: '', group: '' }
}

export function tokenToForm(token: Token, perUnit?: number): TokenForm {
  return {
    id: token.id,
    name: token.name,
    unlimited: token.unlimited_quota,
    quotaUsd: quotaToUsd(token.remain_quota, perUnit),
    expiresAt: token.expired_time > 0 ? token.expired_time : null,
    modelLimits: token.model_limits_enabled ? splitList(token.model_limits) : [],
    allowIps: token.allow_ips.split('\n').map((ip) => ip.trim()).filter(Boolean).join('\n'),
    group: token.group,
  }
}

/** The body of POST / PUT /api/token/ (model limits comma separated, IPs one per line). */
export function formToToken(form: TokenForm, perUnit?: number): Record<string, unknown> {
  const body: Record<string, unknown> = {
    name: form.name.trim(),
    unlimited_quota: form.unlimited,
    remain_quota: form.unlimited ? 0 : usdToQuota(form.quotaUsd, perUnit),
    expired_time: form.expiresAt ?? -1,
    model_limits_enabled: form.modelLimits.length > 0,
    model_limits: form.modelLimits.join(','),
    allow_ips: splitList(form.allowIps).join('\n'),
    group: form.group,
  }
  if (form.id !== null) body.id = form.id
  return body
}

export function fullKey(key: string): string {
  return key.startsWith('sk-') ? key : `sk-${key}`
}

/** Status a key is in right now, as a label key. */
export function tokenState(token: Token, now: number): 'enabled' | 'disabled' | 'expired' | 'exhausted' {
  if (token.status === TOKEN_STATUS.disabled) return 'disabled'
  if (token.status === TOKEN_STATUS.expired || (token.expired_time > 0 && token.expired_time < now)) return 'expired'
  if (token.status === TOKEN_STATUS.exhausted || (!token.unlimited_quota && token.remain_quota <= 0)) return 'exhausted'
  return 'enabled'
}
