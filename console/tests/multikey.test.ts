import { afterEach, describe, expect, it, vi } from 'vitest'
import { countKeys, filterKeys, keyState, listedKeyCounts, manageBody, type KeyStatus } from '../src/lib/multikey'
import { allChannels, multiKey, tags } from '../src/api/channels'
import { USER_KEY } from '../src/api/http'
import type { Channel } from '../src/lib/channels'

interface Seen {
  method: string
  url: string
  body: unknown
  user: string | null
}

/** Stub fetch with queued replies; records what was sent. */
function stubFetch(replies: unknown[]): Seen[] {
  const seen: Seen[] = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit) => {
      const headers = (init.headers ?? {}) as Record<string, string>
      seen.push({ method: init.method ?? 'GET', url, body: init.body ? JSON.parse(String(init.body)) : undefined, user: headers['New-Api-User'] ?? null })
      const next = replies.shift()
      if (next === undefined) throw new Error(`unexpected call ${url}`)
      return new Response(JSON.stringify(next), { status: 200 })
    }),
  )
  return seen
}

afterEach(() => {
  vi.unstubAllGlobals()
  localStorage.clear()
})

const keys: KeyStatus[] = [
  { index: 0, status: 1, disabled_reason: '', disabled_time: 0, preview: 'sk-ab…0000' },
  { index: 1, status: 3, disabled_reason: 'status 401: invalid key', disabled_time: 1_700_000_000, preview: 'sk-ab…1111' },
  { index: 2, status: 2, disabled_reason: 'by admin', disabled_time: 1_700_000_100, preview: 'sk-ab…2222' },
  { index: 3, status: 1, disabled_reason: '', disabled_time: 0, preview: 'sk-ab…3333' },
]

describe('multi-key helpers', () => {
  it('builds the manage bodies; key actions need a valid index', () => {
    expect(manageBody(7, 'get_key_status')).toEqual({ channel_id: 7, action: 'get_key_status' })
    expect(manageBody(7, 'enable_all_keys')).toEqual({ channel_id: 7, action: 'enable_all_keys' })
    expect(manageBody(7, 'disable_key', 0)).toEqual({ channel_id: 7, action: 'disable_key', key_index: 0 })
    expect(() => manageBody(7, 'enable_key')).toThrow('needs the index')
    expect(() => manageBody(7, 'enable_key', -1)).toThrow('needs the index')
    expect(() => manageBody(7, 'disable_key', 1.5)).toThrow('needs the index')
  })

  it('names, counts and filters key statuses', () => {
    expect([1, 2, 3, 9].map(keyState)).toEqual(['enabled', 'disabled', 'autoDisabled', 'unknown'])
    expect(countKeys(keys)).toEqual({ total: 4, enabled: 2, manuallyDisabled: 1, autoDisabled: 1 })
    expect(filterKeys(keys, 3).map((k) => k.index)).toEqual([1])
    expect(filterKeys(keys, '')).toHaveLength(4)
  })

  it('counts keys from the listed channel_info without a call', () => {
    const listed = { channel_info: { is_multi_key: true, multi_key_size: 3, multi_key_status_list: { '1': 3, '2': 2 } } }
    expect(listedKeyCounts(listed)).toEqual({ total: 3, enabled: 1, manuallyDisabled: 1, autoDisabled: 1 })
    expect(listedKeyCounts({ channel_info: { is_multi_key: true, multi_key_size: 2, multi_key_status_list: null } })?.enabled).toBe(2)
    expect(listedKeyCounts({ channel_info: { is_multi_key: false } })).toBeNull()
    expect(listedKeyCounts({})).toBeNull()
  })
})

describe('multi-key calls', () => {
  it('posts each action to multi_key/manage with the New-Api-User header', async () => {
    localStorage.setItem(USER_KEY, JSON.stringify({ id: 1 }))
    const seen = stubFetch([
      { success: true, message: '', data: { mode: 'polling', keys } },
      { success: true, message: '' },
      { success: true, message: '' },
      { success: true, message: '' },
    ])
    const status = await multiKey.status(5)
    expect(status.mode).toBe('polling')
    expect(status.keys[1]!.disabled_reason).toContain('401')
    await multiKey.disable(5, 3)
    await multiKey.enable(5, 1)
    await multiKey.enableAll(5)
    expect(seen.map((s) => [s.method, s.url])).toEqual(Array(4).fill(['POST', '/api/channel/multi_key/manage']))
    expect(seen.map((s) => s.body)).toEqual([
      { channel_id: 5, action: 'get_key_status' },
      { channel_id: 5, action: 'disable_key', key_index: 3 },
      { channel_id: 5, action: 'enable_key', key_index: 1 },
      { channel_id: 5, action: 'enable_all_keys' },
    ])
    expect(seen.every((s) => s.user === '1')).toBe(true)
  })

  it("throws the server's message", async () => {
    stubFetch([{ success: false, message: 'channel is not a multi-key channel' }])
    await expect(multiKey.status(9)).rejects.toThrow('channel is not a multi-key channel')
  })
})

describe('tag calls', () => {
  it('enables, disables and edits a tag', async () => {
    const seen = stubFetch([{ success: true }, { success: true }, { success: true }, { success: true, data: 'a,b' }])
    await tags.enable('east')
    await tags.disable('east')
    await tags.update({ tag: 'east', priority: 3 })
    expect(await tags.models('east')).toBe('a,b')
    expect(seen.map((s) => [s.method, s.url, s.body])).toEqual([
      ['POST', '/api/channel/tag/enabled', { tag: 'east' }],
      ['POST', '/api/channel/tag/disabled', { tag: 'east' }],
      ['PUT', '/api/channel/tag', { tag: 'east', priority: 3 }],
      ['GET', '/api/channel/tag/models?tag=east', undefined],
    ])
  })
})

describe('reading every channel for tag mode', () => {
  const channel = (id: number) => ({ id, name: `c${id}` }) as Channel

  it('reads pages of 100 until the total, with the filters, searching when asked', async () => {
    const first = Array.from({ length: 100 }, (_, i) => channel(i + 1))
    const seen = stubFetch([
      { success: true, data: { page: 1, page_size: 100, total: 130, items: first } },
      { success: true, data: { page: 2, page_size: 100, total: 130, items: first.slice(0, 30).map((c) => channel(c.id + 100)) } },
    ])
    const result = await allChannels({ status: '1', keyword: 'x' }, true)
    expect(result).toMatchObject({ total: 130, truncated: false })
    expect(result.items).toHaveLength(130)
    expect(seen.map((s) => s.url)).toEqual([
      '/api/channel/search?status=1&keyword=x&p=1&page_size=100',
      '/api/channel/search?status=1&keyword=x&p=2&page_size=100',
    ])
  })

  it('stops at the limit and says so', async () => {
    const page = Array.from({ length: 100 }, (_, i) => channel(i))
    stubFetch([{ success: true, data: { page: 1, page_size: 100, total: 500, items: page } }])
    const result = await allChannels({}, false, 100)
    expect(result).toMatchObject({ total: 500, truncated: true })
    expect(result.items).toHaveLength(100)
  })

  it('stops on an empty page even if the total says more', async () => {
    const seen = stubFetch([{ success: true, data: { page: 1, page_size: 100, total: 5, items: [] } }])
    expect((await allChannels({}, false)).items).toEqual([])
    expect(seen).toHaveLength(1)
  })
})
