/**
 * Gemini (type 24) and Vertex AI (type 41) channel fields, as new-api's channel editor keeps
 * them (pure): the Vertex key type in the `settings` JSON, service-account keys, and the region
 * in `other` (one region, or a JSON object of model -> region with a "default").
 */
import type { MessageKey } from '../i18n/messages'

export const GEMINI = 24
export const VERTEX_AI = 41

/** new-api's `settings.vertex_key_type`: a service-account JSON (the default) or an API key. */
export type VertexKeyType = 'json' | 'api_key'
/** How the editor shows the region: one name, or the per-model JSON object. */
export type RegionMode = 'plain' | 'models'

/** A validation message for the editor to translate and show under its field. */
export interface Problem {
  key: MessageKey
  params?: Record<string, string | number>
}

/** What the key text holds: each account as compact JSON, or why it cannot be sent. */
export interface ServiceAccounts {
  accounts: string[]
  problem: Problem | null
}

const ACCOUNT_FIELDS = ['project_id', 'private_key', 'client_email'] as const
// The names Vertex uses: us-central1, europe-west4, asia-northeast1, global ...
const REGION_NAME = /^[a-z][a-z0-9-]*[a-z0-9]$/

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch {
    return { ok: false }
  }
}

/** Why one parsed item is not a usable service account (`n` counts from 1), or null. */
export function serviceAccountProblem(value: unknown, n: number): Problem | null {
  if (!isObject(value)) return { key: 'ch.saNotObject', params: { n } }
  if (value.type !== 'service_account') return { key: 'ch.saNotServiceAccount', params: { n } }
  const missing = ACCOUNT_FIELDS.filter((name) => typeof value[name] !== 'string' || !(value[name] as string).trim())
  return missing.length ? { key: 'ch.saMissing', params: { n, fields: missing.join(', ') } } : null
}

/** The items of the key text: one JSON document (an object or an array), else one per line. */
function accountItems(text: string): { items: unknown[]; problem: Problem | null } {
  const whole = parseJson(text)
  if (whole.ok) return { items: Array.isArray(whole.value) ? whole.value : [whole.value], problem: null }
  const lines = text.split('\n').map((line) => line.trim()).filter(Boolean)
  // A single line that does not parse is just bad JSON; several may be one account per line.
  if (lines.length < 2) return { items: [], problem: { key: 'ch.saNotJson' } }
  const items: unknown[] = []
  for (const [index, line] of lines.entries()) {
    const parsed = parseJson(line)
    if (!parsed.ok) {
      // A bad first line means the text is no JSON at all, not a bad line among good ones.
      const problem: Problem = index ? { key: 'ch.saLineNotJson', params: { line: index + 1 } } : { key: 'ch.saNotJson' }
      return { items: [], problem }
    }
    items.push(parsed.value)
  }
  return { items, problem: null }
}

/**
 * Read the Vertex key textarea in JSON mode: one service-account file (pretty-printed is fine),
 * a JSON array of them, or one JSON per line. Accounts come back compact and without repeats.
 */
export function parseServiceAccounts(text: string): ServiceAccounts {
  if (!text.trim()) return { accounts: [], problem: null }
  const { items, problem } = accountItems(text.trim())
  if (problem) return { accounts: [], problem }
  if (!items.length) return { accounts: [], problem: { key: 'ch.saEmpty' } }
  for (const [index, item] of items.entries()) {
    const wrong = serviceAccountProblem(item, index + 1)
    if (wrong) return { accounts: [], problem: wrong }
  }
  return { accounts: [...new Set(items.map((item) => JSON.stringify(item)))], problem: null }
}

/**
 * The key to send for these accounts. Creating several: a JSON array, which new-api (and newapi)
 * split into keys. Editing: one account per line, the way a multi-key edit adds or replaces keys.
 */
export function serviceAccountKey(accounts: string[], creating: boolean): string {
  if (accounts.length <= 1) return accounts[0] ?? ''
  return creating ? `[${accounts.join(',')}]` : accounts.join('\n')
}

/** Check the region text: a region name, or a JSON object of model -> region with "default". */
export function vertexRegionProblem(text: string): Problem | null {
  const region = text.trim()
  if (!region) return { key: 'ch.regionEmpty' }
  if (!region.startsWith('{')) return REGION_NAME.test(region) ? null : { key: 'ch.regionBadName', params: { region } }
  const parsed = parseJson(region)
  if (!parsed.ok || !isObject(parsed.value)) return { key: 'ch.regionNotJson' }
  if (!('default' in parsed.value)) return { key: 'ch.regionNoDefault' }
  for (const [model, value] of Object.entries(parsed.value)) {
    if (typeof value !== 'string' || !REGION_NAME.test(value.trim())) return { key: 'ch.regionBadModel', params: { model } }
  }
  return null
}

/** The mode that shows `other` as stored: JSON objects in the per-model editor. */
export function regionModeOf(text: string): RegionMode {
  return text.trim().startsWith('{') ? 'models' : 'plain'
}

/**
 * The region text after switching modes: a plain region becomes the "default" of a new JSON
 * object; a valid JSON object goes back to its "default" (other models' regions are dropped,
 * as one region cannot hold them).
 */
export function switchRegionMode(text: string, to: RegionMode): string {
  const region = text.trim()
  if (to === regionModeOf(region)) return text
  if (to === 'models') return JSON.stringify({ default: region || 'us-central1' }, null, 2)
  const parsed = parseJson(region)
  const fallback = parsed.ok && isObject(parsed.value) ? parsed.value.default : undefined
  return typeof fallback === 'string' ? fallback : ''
}

/** The key type in a stored `settings` JSON; "json" unless it says "api_key" (new-api's rule). */
export function vertexKeyTypeOf(settings: string | null | undefined): VertexKeyType {
  const parsed = parseJson(settings?.trim() || '{}')
  return parsed.ok && isObject(parsed.value) && parsed.value.vertex_key_type === 'api_key' ? 'api_key' : 'json'
}

/**
 * The `settings` JSON to send, keeping every other stored setting: a Vertex channel gets its
 * key type, another type loses a stale one. Null when nothing needs sending.
 */
export function settingsFor(stored: string, type: number, keyType: VertexKeyType): string | null {
  const parsed = parseJson(stored.trim() || '{}')
  const settings: Record<string, unknown> = parsed.ok && isObject(parsed.value) ? { ...parsed.value } : {}
  if (type === VERTEX_AI) settings.vertex_key_type = keyType
  else if ('vertex_key_type' in settings) delete settings.vertex_key_type
  else return null
  return JSON.stringify(settings)
}
