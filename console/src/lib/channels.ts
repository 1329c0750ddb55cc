/** Channel types, statuses and the editor's form <-> the admin API's channel JSON (pure). */
import { splitList } from './format'
import {
  GEMINI,
  VERTEX_AI,
  parseServiceAccounts,
  regionModeOf,
  serviceAccountKey,
  settingsFor,
  vertexKeyTypeOf,
  vertexRegionProblem,
  type Problem,
  type RegionMode,
  type VertexKeyType,
} from './google'

export interface ChannelType {
  id: number
  name: string
  baseUrl: string
}

/**
 * The types this version serves (README: channel types): the only ones the type picker offers.
 * Others can only be rows adopted from a new-api database; they are listed by number.
 */
export const CHANNEL_TYPES: ChannelType[] = [
  { id: 1, name: 'OpenAI', baseUrl: 'https://api.openai.com' },
  { id: 3, name: 'Azure OpenAI', baseUrl: '' },
  { id: 14, name: 'Anthropic Claude', baseUrl: 'https://api.anthropic.com' },
  { id: GEMINI, name: 'Google Gemini', baseUrl: 'https://generativelanguage.googleapis.com' },
  // Empty: Google's regional hosts ({region}-aiplatform.googleapis.com).
  { id: VERTEX_AI, name: 'Vertex AI', baseUrl: '' },
  { id: 8, name: 'Custom (OpenAI compatible)', baseUrl: '' },
  { id: 43, name: 'DeepSeek', baseUrl: 'https://api.deepseek.com' },
  { id: 20, name: 'OpenRouter', baseUrl: 'https://openrouter.ai/api' },
  { id: 25, name: 'Moonshot', baseUrl: 'https://api.moonshot.cn' },
  { id: 42, name: 'Mistral', baseUrl: 'https://api.mistral.ai' },
  { id: 48, name: 'xAI', baseUrl: 'https://api.x.ai' },
  { id: 40, name: 'SiliconFlow', baseUrl: 'https://api.siliconflow.cn' },
  { id: 4, name: 'Ollama', baseUrl: 'http://localhost:11434' },
  { id: 27, name: 'Perplexity', baseUrl: 'https://api.perplexity.ai' },
]

export const AZURE = 3

export function channelTypeName(id: number): string {
  return CHANNEL_TYPES.find((t) => t.id === id)?.name ?? `type ${id}`
}

export const CHANNEL_STATUS = { unknown: 0, enabled: 1, manuallyDisabled: 2, autoDisabled: 3 } as const

/** The channel JSON of GET /api/channel/ (keys are never listed). */
export interface Channel {
  id: number
  type: number
  name: string
  status: number
  weight: number | null
  priority: number | null
  base_url: string | null
  other: string
  models: string
  group: string
  model_mapping: string | null
  test_model: string | null
  tag: string | null
  remark: string | null
  response_time: number
  test_time: number
  balance: number
  used_quota: number
  auto_ban: number | null
  channel_info?: {
    is_multi_key?: boolean
    multi_key_size?: number
    multi_key_mode?: string
    /** {index: status} of the keys that are not enabled */
    multi_key_status_list?: Record<string, number> | null
  }
  param_override?: string | null
  header_override?: string | null
  /** new-api's ChannelOtherSettings JSON (vertex_key_type, ...) */
  settings?: string | null
  /** read-only: false when this version has no adaptor for the type (never routed or tested) */
  served?: boolean
}

/** Whether newapi serves this channel: the API's `served`, else whether the picker knows the type. */
export function isServed(channel: Pick<Channel, 'type' | 'served'>): boolean {
  return channel.served ?? CHANNEL_TYPES.some((type) => type.id === channel.type)
}

export type MultiKeyMode = 'random' | 'polling'

export interface ChannelForm {
  id: number | null
  type: number
  name: string
  key: string
  baseUrl: string
  models: string[]
  groups: string[]
  modelMapping: string
  /** `other` of Azure (api-version) and Gemini (API version, e.g. v1beta) */
  apiVersion: string
  /** `other` of Vertex AI: a region, or a JSON object of model -> region with "default" */
  region: string
  regionMode: RegionMode
  vertexKeyType: VertexKeyType
  /** the stored `settings` JSON, sent back with only vertex_key_type changed */
  settings: string
  priority: number
  weight: number
  testModel: string
  tag: string
  remark: string
  autoBan: boolean
  /** creating with several key lines: one channel per key, or one channel holding them all */
  keySplit: 'batch' | 'multi_to_single'
  multiKeyMode: MultiKeyMode
  /** editing: the stored channel holds several keys (size), 0 when it holds one */
  multiKeySize: number
  /** editing a multi-key channel: the typed keys are added to, or replace, the stored ones */
  keyEdit: 'append' | 'replace'
}

export function emptyChannelForm(): ChannelForm {
  return {
    id: null,
    type: 1,
    name: '',
    key: '',
    baseUrl: '',
    models: [],
    groups: ['default'],
    modelMapping: '',
    apiVersion: '',
    region: '',
    regionMode: 'plain',
    vertexKeyType: 'json',
    settings: '',
    priority: 0,
    weight: 1,
    testModel: '',
    tag: '',
    remark: '',
    autoBan: true,
    keySplit: 'multi_to_single',
    multiKeyMode: 'random',
    multiKeySize: 0,
    keyEdit: 'append',
  }
}

/** One key per line, trimmed, without empties or repeats (as the server splits them). */
export function splitKeys(text: string): string[] {
  return [...new Set(text.split('\n').map((line) => line.trim()).filter(Boolean))]
}

export function channelToForm(channel: Channel): ChannelForm {
  return {
    id: channel.id,
    type: channel.type,
    name: channel.name,
    key: '',
    baseUrl: channel.base_url ?? '',
    models: splitList(channel.models),
    groups: splitList(channel.group),
    modelMapping: channel.model_mapping ?? '',
    apiVersion: channel.type === AZURE || channel.type === GEMINI ? channel.other ?? '' : '',
    region: channel.type === VERTEX_AI ? channel.other ?? '' : '',
    regionMode: channel.type === VERTEX_AI ? regionModeOf(channel.other ?? '') : 'plain',
    vertexKeyType: vertexKeyTypeOf(channel.settings),
    settings: channel.settings ?? '',
    priority: channel.priority ?? 0,
    weight: channel.weight ?? 0,
    testModel: channel.test_model ?? '',
    tag: channel.tag ?? '',
    remark: channel.remark ?? '',
    autoBan: (channel.auto_ban ?? 1) !== 0,
    keySplit: 'multi_to_single',
    multiKeyMode: channel.channel_info?.multi_key_mode === 'polling' ? 'polling' : 'random',
    multiKeySize: channel.channel_info?.is_multi_key ? channel.channel_info.multi_key_size ?? 0 : 0,
    keyEdit: 'append',
  }
}

/** Check the model mapping text: empty, or a JSON object of model name -> model name. */
export function modelMappingError(text: string): string | null {
  if (!text.trim()) return null
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return 'model mapping is not valid JSON'
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return 'model mapping must be a JSON object such as {"gpt-4o": "my-gpt-4o"}'
  }
  for (const [source, target] of Object.entries(parsed)) {
    if (typeof target !== 'string' || !target.trim()) return `model mapping for "${source}" must be a model name`
  }
  return null
}

/** Service-account JSON is read as accounts; any other key as one key per line. */
function usesServiceAccounts(form: ChannelForm): boolean {
  return form.type === VERTEX_AI && form.vertexKeyType === 'json'
}

/** How many keys the key field holds (what decides single, batch or multi-key). */
export function keyCount(form: ChannelForm): number {
  return usesServiceAccounts(form) ? parseServiceAccounts(form.key).accounts.length : splitKeys(form.key).length
}

/** The first typed key (a service account as compact JSON), '' when none or unreadable. */
export function firstKey(form: ChannelForm): string {
  return (usesServiceAccounts(form) ? parseServiceAccounts(form.key).accounts : splitKeys(form.key))[0] ?? ''
}

/** Why the typed key cannot be sent (Vertex AI only; other keys are the provider's business). */
export function keyProblem(form: ChannelForm): Problem | null {
  if (form.type !== VERTEX_AI || !form.key.trim()) return null
  if (form.vertexKeyType === 'api_key') {
    // new-api's editor refuses batch creation of Vertex API keys; one key per channel.
    return splitKeys(form.key).length > 1 ? { key: 'ch.vertexOneApiKey' } : null
  }
  const { accounts, problem } = parseServiceAccounts(form.key)
  if (problem) return problem
  // A single-key channel stores the key as it is: several accounts would make one broken key.
  if (form.id !== null && form.multiKeySize === 0 && accounts.length > 1) return { key: 'ch.saOneOnEdit' }
  return null
}

/** Why the Vertex AI region cannot be sent; null for the other types. */
export function regionProblem(form: ChannelForm): Problem | null {
  return form.type === VERTEX_AI ? vertexRegionProblem(form.region) : null
}

/** What the form is missing before it may be sent (the server checks again). */
export function channelFormErrors(form: ChannelForm): string[] {
  const errors: string[] = []
  if (!form.name.trim()) errors.push('name')
  if ((form.id === null && !form.key.trim()) || keyProblem(form)) errors.push('key')
  if (!form.models.length) errors.push('models')
  if (!form.groups.length) errors.push('groups')
  if (form.type === AZURE && !form.baseUrl.trim()) errors.push('baseUrl')
  if (modelMappingError(form.modelMapping)) errors.push('modelMapping')
  if (regionProblem(form)) errors.push('region')
  return errors
}

/** The channel's `other` column: Azure and Gemini API version, Vertex AI region. */
function otherOf(form: ChannelForm): string {
  if (form.type === AZURE || form.type === GEMINI) return form.apiVersion.trim()
  if (form.type === VERTEX_AI) return form.region.trim()
  return ''
}

/** The key to send: service accounts compacted (an array when creating several). */
function keyOf(form: ChannelForm): string {
  if (!usesServiceAccounts(form)) return form.key.trim()
  return serviceAccountKey(parseServiceAccounts(form.key).accounts, form.id === null)
}

/** The channel object for POST (inside {mode, channel}) and PUT /api/channel/. */
export function formToChannel(form: ChannelForm): Record<string, unknown> {
  const channel: Record<string, unknown> = {
    type: form.type,
    name: form.name.trim(),
    base_url: form.baseUrl.trim(),
    models: form.models.join(','),
    group: form.groups.join(','),
    model_mapping: form.modelMapping.trim(),
    priority: form.priority,
    weight: form.weight,
    test_model: form.testModel.trim(),
    tag: form.tag.trim(),
    remark: form.remark.trim(),
    auto_ban: form.autoBan ? 1 : 0,
    other: otherOf(form),
  }
  const settings = settingsFor(form.settings, form.type, form.vertexKeyType)
  if (settings !== null) channel.settings = settings
  if (form.id !== null) channel.id = form.id
  // An edit without a key keeps the stored one; the server never sends it back.
  const key = keyOf(form)
  if (key) channel.key = key
  if (form.id !== null && form.multiKeySize > 0) {
    channel.multi_key_mode = form.multiKeyMode
    if (channel.key) channel.key_mode = form.keyEdit
  }
  return channel
}

/** The body of POST /api/channel/: several key lines make a batch or one multi-key channel. */
export function createRequest(form: ChannelForm): Record<string, unknown> {
  const mode = keyCount(form) > 1 ? form.keySplit : 'single'
  return {
    mode,
    ...(mode === 'multi_to_single' ? { multi_key_mode: form.multiKeyMode } : {}),
    channel: formToChannel(form),
  }
}
