/** Channel calls beyond plain CRUD: a multi-key channel's keys, and tags (tag mode). */
import { api, type Page } from './http'
import type { Channel } from '../lib/channels'
import { manageBody, type MultiKeyStatus } from '../lib/multikey'
import type { TagUpdate } from '../lib/tags'

const MANAGE = '/api/channel/multi_key/manage'

export const multiKey = {
  status: (channelId: number) => api.post<MultiKeyStatus>(MANAGE, manageBody(channelId, 'get_key_status')),
  enable: (channelId: number, index: number) => api.post<unknown>(MANAGE, manageBody(channelId, 'enable_key', index)),
  disable: (channelId: number, index: number) => api.post<unknown>(MANAGE, manageBody(channelId, 'disable_key', index)),
  enableAll: (channelId: number) => api.post<unknown>(MANAGE, manageBody(channelId, 'enable_all_keys')),
}

export const tags = {
  enable: (tag: string) => api.post<unknown>('/api/channel/tag/enabled', { tag }),
  disable: (tag: string) => api.post<unknown>('/api/channel/tag/disabled', { tag }),
  update: (update: TagUpdate) => api.put<unknown>('/api/channel/tag', update),
  /** The longest model list among the tag's channels, to start the tag editor from. */
  models: (tag: string) => api.get<string | null>('/api/channel/tag/models', { tag }),
}

/** The most channels tag mode reads (pages of 100) before it says the list is cut short. */
export const TAG_MODE_LIMIT = 2000
const PAGE = 100

/**
 * Every channel matching `query` (search when it has a keyword or model), page by page, for
 * grouping by tag in the browser; newapi's list has no tag_mode. `truncated` when capped.
 */
export async function allChannels(
  query: Record<string, string | number | undefined>,
  searching: boolean,
  limit = TAG_MODE_LIMIT,
): Promise<{ items: Channel[]; total: number; truncated: boolean }> {
  const path = searching ? '/api/channel/search' : '/api/channel/'
  const items: Channel[] = []
  let total = 0
  for (let page = 1; ; page += 1) {
    const data = await api.get<Page<Channel>>(path, { ...query, p: page, page_size: PAGE })
    total = data.total
    items.push(...(data.items ?? []))
    if (!data.items?.length || items.length >= total || items.length >= limit) break
  }
  return { items: items.slice(0, limit), total, truncated: total > limit }
}
