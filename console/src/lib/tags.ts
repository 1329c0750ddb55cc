/**
 * Tag mode (new-api's): channels grouped under their `tag`, a tag switched on or off as one, and
 * the tag editor's form <-> `PUT /api/channel/tag`, which changes only the fields it is sent (pure).
 */
import { CHANNEL_STATUS, modelMappingError, type Channel } from './channels'
import { splitList } from './format'

export interface TagGroup {
  tag: string
  channels: Channel[]
  enabled: number
  /** the value every channel of the tag shares, or null when they differ */
  priority: number | null
  weight: number | null
  models: string[]
  groups: string[]
  usedQuota: number
  /** the slowest tested channel's time (ms), 0 when none was tested */
  responseTime: number
}

/** A row of the channel table: a channel, or (tag mode) a tag with its channels beneath. */
export type ChannelRow =
  | { kind: 'channel'; key: number; channel: Channel }
  | { kind: 'tag'; key: string; group: TagGroup; children: ChannelRow[] }

export const TAG_ROW_PREFIX = 'tag:'

function shared<T>(values: T[]): T | null {
  return values.length && values.every((v) => v === values[0]) ? values[0]! : null
}

function union(lists: string[][]): string[] {
  return [...new Set(lists.flat())]
}

export function tagGroup(tag: string, channels: Channel[]): TagGroup {
  return {
    tag,
    channels,
    enabled: channels.filter((c) => c.status === CHANNEL_STATUS.enabled).length,
    priority: shared(channels.map((c) => c.priority ?? 0)),
    weight: shared(channels.map((c) => c.weight ?? 0)),
    models: union(channels.map((c) => splitList(c.models))),
    groups: union(channels.map((c) => splitList(c.group))),
    usedQuota: channels.reduce((sum, c) => sum + (c.used_quota ?? 0), 0),
    responseTime: Math.max(0, ...channels.map((c) => c.response_time ?? 0)),
  }
}

export const channelRow = (channel: Channel): ChannelRow => ({ kind: 'channel', key: channel.id, channel })

/**
 * Tag mode's rows: one row per tag (in the order its first channel comes), its channels as
 * children; untagged channels stay rows of their own, in place.
 */
export function groupByTag(channels: Channel[]): ChannelRow[] {
  const byTag = new Map<string, Channel[]>()
  const order: (string | Channel)[] = []
  for (const channel of channels) {
    const tag = channel.tag?.trim()
    if (!tag) {
      order.push(channel)
      continue
    }
    if (!byTag.has(tag)) {
      byTag.set(tag, [])
      order.push(tag)
    }
    byTag.get(tag)!.push(channel)
  }
  return order.map((item) => {
    if (typeof item !== 'string') return channelRow(item)
    const members = byTag.get(item)!
    return { kind: 'tag', key: TAG_ROW_PREFIX + item, group: tagGroup(item, members), children: members.map(channelRow) }
  })
}

/** The channel ids among table row keys (tag rows have string keys). */
export function channelIds(keys: (number | string)[]): number[] {
  return keys.filter((key): key is number => typeof key === 'number')
}

/** 'enabled' when every channel is, 'disabled' when none is, else 'partial'. */
export function tagState(group: Pick<TagGroup, 'enabled' | 'channels'>): 'enabled' | 'disabled' | 'partial' {
  if (group.enabled === group.channels.length) return 'enabled'
  return group.enabled === 0 ? 'disabled' : 'partial'
}

export interface TagForm {
  tag: string
  newTag: string
  priority: number | null
  weight: number | null
  models: string[]
  groups: string[]
  /** JSON text; empty leaves the channels' own value alone */
  modelMapping: string
  paramOverride: string
  headerOverride: string
}

export interface TagUpdate {
  tag: string
  new_tag?: string
  priority?: number
  weight?: number
  models?: string
  groups?: string
  model_mapping?: string
  param_override?: string
  header_override?: string
}

/** The editor's starting point: shared values filled in, the JSON fields empty (= unchanged). */
export function tagForm(group: TagGroup, models?: string[]): TagForm {
  return {
    tag: group.tag,
    newTag: group.tag,
    priority: group.priority,
    weight: group.weight,
    models: models ?? group.models,
    groups: group.groups,
    modelMapping: '',
    paramOverride: '',
    headerOverride: '',
  }
}

/** Empty, or a JSON object. */
export function jsonObjectError(text: string, what: string): string | null {
  if (!text.trim()) return null
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return null
  } catch {
    return `${what} is not valid JSON`
  }
  return `${what} must be a JSON object`
}

/** What is wrong with the form, per field; empty when it may be sent. */
export function tagFormErrors(form: TagForm): Record<string, string> {
  const errors: Record<string, string> = {}
  if (form.weight !== null && form.weight < 0) errors.weight = 'weight must not be negative'
  if (form.models.length === 0) errors.models = 'a tag needs at least one model'
  if (form.groups.length === 0) errors.groups = 'a tag needs at least one group'
  const mapping = modelMappingError(form.modelMapping)
  if (mapping) errors.modelMapping = mapping
  const params = jsonObjectError(form.paramOverride, 'param override')
  if (params) errors.paramOverride = params
  const headers = jsonObjectError(form.headerOverride, 'header override')
  if (headers) errors.headerOverride = headers
  return errors
}

const sameList = (a: string[], b: string[]) => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n')

/**
 * `PUT /api/channel/tag`'s body: only what the admin changed from `start`, so the channels keep
 * every value nobody touched. A renamed tag sends `new_tag`; an empty name keeps the tag (as
 * new-api, which cannot take the tag off through this call).
 */
export function tagUpdate(start: TagForm, form: TagForm): TagUpdate {
  const update: TagUpdate = { tag: start.tag }
  const newTag = form.newTag.trim()
  if (newTag && newTag !== start.tag) update.new_tag = newTag
  if (form.priority !== null && form.priority !== start.priority) update.priority = form.priority
  if (form.weight !== null && form.weight !== start.weight) update.weight = form.weight
  if (!sameList(form.models, start.models)) update.models = form.models.join(',')
  if (!sameList(form.groups, start.groups)) update.groups = form.groups.join(',')
  if (form.modelMapping.trim()) update.model_mapping = form.modelMapping.trim()
  if (form.paramOverride.trim()) update.param_override = form.paramOverride.trim()
  if (form.headerOverride.trim()) update.header_override = form.headerOverride.trim()
  return update
}

/** Whether `update` changes anything beyond naming the tag. */
export function changesSomething(update: TagUpdate): boolean {
  return Object.keys(update).length > 1
}
