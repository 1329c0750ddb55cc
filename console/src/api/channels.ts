/** Channel calls beyond plain CRUD: a multi-key channel's keys, tags (tag mode), copy, fetch models, test all. */
import { api, queryString, send, type Page } from './http'
import type { Channel, ChannelForm } from '../lib/channels'
import { fetchModelsRequest, testProgress, type TestProgress, type TestSnapshot } from '../lib/channeltools'
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

/** The copy's name is `<name><suffix>`; usage, test results and (by default) the balance start at zero. */
export async function copyChannel(id: number, suffix = '_copy', resetBalance = true): Promise<number> {
  const data = await api.post<{ id: number }>(`/api/channel/copy/${id}${queryString({ suffix, reset_balance: resetBalance })}`)
  return data.id
}

/**
 * The model ids the provider lists: a saved channel's own key and URL (id route) unless a key
 * was typed in the form, which is then tried with the form's type and base URL.
 */
export function fetchModels(form: ChannelForm): Promise<string[]> {
  const request = fetchModelsRequest(form)
  return request.id !== undefined
    ? api.get<string[]>(`/api/channel/fetch_models/${request.id}`)
    : api.post<string[]>('/api/channel/fetch_models', request.body)
}

/** Start testing every channel not disabled by hand; the server answers at once with how many. */
export async function startTestAll(): Promise<string> {
  return String((await send<unknown>('GET', '/api/channel/test')).message ?? '')
}

export interface WaitOptions {
  /** ms between polls */
  interval?: number
  /** ms before giving up (the tests go on in the background) */
  limit?: number
  onProgress?: (progress: TestProgress) => void
  sleep?: (ms: number) => Promise<void>
  now?: () => number
}

/**
 * After startTestAll: poll the channel list until every channel that was to be tested has a
 * newer test time than in `before`, or the limit passes. Resolves with the last progress.
 */
export async function waitForTests(before: TestSnapshot, options: WaitOptions = {}): Promise<TestProgress & { timedOut: boolean }> {
  const { interval = 1000, limit = 60_000, onProgress, sleep = (ms) => new Promise((r) => setTimeout(r, ms)), now = Date.now } = options
  const deadline = now() + limit
  for (;;) {
    const { items } = await allChannels({}, false)
    const progress = testProgress(before, items)
    onProgress?.(progress)
    if (progress.done >= progress.total) return { ...progress, timedOut: false }
    if (now() + interval > deadline) return { ...progress, timedOut: true }
    await sleep(interval)
  }
}
