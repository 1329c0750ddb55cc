/**
 * Multi-key channels: the key statuses of `POST /api/channel/multi_key/manage` and what the
 * channel list already says about them (`channel_info.multi_key_status_list`), pure.
 */
import type { Channel } from './channels'

/** 1 enabled, 2 disabled by an admin, 3 disabled automatically after upstream failures. */
export const KEY_STATUS = { enabled: 1, manuallyDisabled: 2, autoDisabled: 3 } as const

export interface KeyStatus {
  index: number
  status: number
  disabled_reason: string
  disabled_time: number
  /** the key with its middle hidden, e.g. `sk-ab…wxyz`; the full key never leaves the server */
  preview: string
}

export interface MultiKeyStatus {
  mode: 'random' | 'polling'
  keys: KeyStatus[]
}

export type KeyAction = 'get_key_status' | 'enable_key' | 'disable_key' | 'enable_all_keys'

/** The body of one `multi_key/manage` call; the key actions name the key by its index. */
export function manageBody(channelId: number, action: KeyAction, keyIndex?: number): Record<string, unknown> {
  const needsIndex = action === 'enable_key' || action === 'disable_key'
  if (needsIndex && (keyIndex === undefined || !Number.isInteger(keyIndex) || keyIndex < 0)) {
    throw new Error(`${action} needs the index of a key`)
  }
  return needsIndex ? { channel_id: channelId, action, key_index: keyIndex } : { channel_id: channelId, action }
}

export function keyState(status: number): 'enabled' | 'disabled' | 'autoDisabled' | 'unknown' {
  if (status === KEY_STATUS.enabled) return 'enabled'
  if (status === KEY_STATUS.manuallyDisabled) return 'disabled'
  if (status === KEY_STATUS.autoDisabled) return 'autoDisabled'
  return 'unknown'
}

export interface KeyCounts {
  total: number
  enabled: number
  manuallyDisabled: number
  autoDisabled: number
}

export function countKeys(keys: Pick<KeyStatus, 'status'>[]): KeyCounts {
  const counts: KeyCounts = { total: keys.length, enabled: 0, manuallyDisabled: 0, autoDisabled: 0 }
  for (const key of keys) {
    if (key.status === KEY_STATUS.manuallyDisabled) counts.manuallyDisabled += 1
    else if (key.status === KEY_STATUS.autoDisabled) counts.autoDisabled += 1
    else counts.enabled += 1
  }
  return counts
}

/**
 * Counts from a listed channel, without a call: the list carries `multi_key_status_list`
 * ({index: status}, only the keys that are not enabled); null for a single-key channel.
 */
export function listedKeyCounts(channel: Pick<Channel, 'channel_info'>): KeyCounts | null {
  const info = channel.channel_info
  if (!info?.is_multi_key) return null
  const size = info.multi_key_size ?? 0
  const statuses = info.multi_key_status_list ?? {}
  const keys = Array.from({ length: size }, (_, index) => ({ status: Number(statuses[String(index)] ?? KEY_STATUS.enabled) }))
  return countKeys(keys)
}

/** The keys shown under a status filter: '' all, else one of the statuses. */
export function filterKeys(keys: KeyStatus[], status: number | ''): KeyStatus[] {
  return status === '' ? keys : keys.filter((key) => key.status === status)
}
