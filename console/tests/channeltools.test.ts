// The channel tools: copy, fetch models (which route, errors, the picker in the editor) and
// test all (progress from the test times, the polling loop), with fetch stubbed.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { defineComponent, h } from 'vue'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { NMessageProvider } from 'naive-ui'
import ChannelEditor from '../src/components/ChannelEditor.vue'
import { copyChannel, fetchModels, startTestAll, waitForTests } from '../src/api/channels'
import { fetchModelsRequest, pickedModels, testedLatency, testProgress, testSnapshot } from '../src/lib/channeltools'
import { emptyChannelForm, type Channel, type ChannelForm } from '../src/lib/channels'

const channel = (id: number, status: number, testTime: number): Channel => ({
  id, type: 1, name: `c${id}`, status, weight: 1, priority: 0, base_url: null, other: '', models: 'a', group: 'default',
  model_mapping: null, test_model: null, tag: null, remark: null, response_time: 0, test_time: testTime, balance: 0, used_quota: 0, auto_ban: 1,
})

type Handler = (url: string, init: RequestInit) => unknown
function fakeServer(handler: Handler) {
  const calls: { method: string; url: string; body: unknown }[] = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit) => {
      calls.push({ method: init.method ?? 'GET', url, body: init.body ? JSON.parse(String(init.body)) : undefined })
      return Response.json(handler(url, init))
    }),
  )
  return calls
}

const MODELS = ['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small', 'claude-sonnet-4-20250514']
const saved = (over: Partial<ChannelForm> = {}): ChannelForm => ({ ...emptyChannelForm(), id: 7, name: 'up', models: ['old'], ...over })

beforeEach(() => {
  setActivePinia(createPinia())
  vi.stubGlobal('matchMedia', (query: string) => ({ matches: false, media: query, addEventListener() {}, removeEventListener() {} }))
})
afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

describe('copy', () => {
  it('posts the suffix and balance choice and returns the new id', async () => {
    const calls = fakeServer(() => ({ success: true, message: '', data: { id: 12 } }))
    expect(await copyChannel(3, '-b', false)).toBe(12)
    expect(calls).toEqual([{ method: 'POST', url: '/api/channel/copy/3?suffix=-b&reset_balance=false', body: {} }])
    await copyChannel(4)
    expect(calls[1]!.url).toBe('/api/channel/copy/4?suffix=_copy&reset_balance=true')
  })

  it("shows the server's message when the channel is gone", async () => {
    fakeServer(() => ({ success: false, message: 'channel not found' }))
    await expect(copyChannel(99)).rejects.toThrow('channel not found')
  })
})

describe('fetch models', () => {
  it('uses the id route for a saved channel without a typed key', async () => {
    expect(fetchModelsRequest(saved())).toEqual({ id: 7 })
    const calls = fakeServer(() => ({ success: true, data: MODELS }))
    expect(await fetchModels(saved())).toEqual(MODELS)
    expect(calls).toEqual([{ method: 'GET', url: '/api/channel/fetch_models/7', body: undefined }])
  })

  it("posts a new channel's base URL, type and first key", async () => {
    const form = { ...emptyChannelForm(), type: 14, baseUrl: ' http://up.example/ ', key: ' sk-one \nsk-two' }
    const calls = fakeServer(() => ({ success: true, data: ['claude-sonnet-4-20250514'] }))
    expect(await fetchModels(form)).toEqual(['claude-sonnet-4-20250514'])
    expect(calls).toEqual([
      { method: 'POST', url: '/api/channel/fetch_models', body: { base_url: 'http://up.example/', type: 14, key: 'sk-one' } },
    ])
    // A key typed into a saved channel's form is tried instead of the stored one.
    expect(fetchModelsRequest(saved({ key: 'sk-new' }))).toEqual({ body: { base_url: '', type: 1, key: 'sk-new' } })
  })

  it("throws the server's refusal as it is", async () => {
    fakeServer(() => ({ success: false, message: 'this channel type has no model list to fetch (Azure lists deployments)' }))
    await expect(fetchModels({ ...emptyChannelForm(), type: 3, key: 'k' })).rejects.toThrow('Azure lists deployments')
  })

  it('keeps the picked models in the provider order', () => {
    expect(pickedModels(MODELS, ['gpt-4o', 'gpt-4o-mini', 'not-listed'])).toEqual(['gpt-4o-mini', 'gpt-4o'])
  })
})

describe('test all', () => {
  it('snapshots the channels the server tests and counts the newer test times', () => {
    const before = testSnapshot([channel(1, 1, 100), channel(2, 2, 100), channel(3, 3, 0)])
    expect([...before.keys()]).toEqual([1, 3]) // disabled by hand: not tested
    expect(testProgress(before, [channel(1, 1, 100), channel(3, 3, 0)])).toEqual({ done: 0, total: 2 })
    expect(testProgress(before, [channel(1, 1, 105), channel(3, 1, 0)])).toEqual({ done: 1, total: 2 })
    expect(testProgress(before, [channel(1, 1, 105)])).toEqual({ done: 2, total: 2 }) // 3 deleted
  })

  it('shows a tested channel\'s latency, even 0 ms, and "-" when never tested', () => {
    expect(testedLatency({ test_time: 0, response_time: 0 })).toBe('-')
    expect(testedLatency({ test_time: 100, response_time: 0 })).toBe('0 ms')
    expect(testedLatency({ test_time: 100, response_time: 12 })).toBe('12 ms')
    expect(testedLatency({ test_time: 100, response_time: 1500 })).toBe('1.50 s')
  })

  it("returns the server's message", async () => {
    const calls = fakeServer(() => ({ success: true, message: 'testing 2 channel(s) in the background' }))
    expect(await startTestAll()).toBe('testing 2 channel(s) in the background')
    expect(calls[0]!.url).toBe('/api/channel/test')
  })

  it('polls the list until every channel was tested again', async () => {
    const lists = [
      [channel(1, 1, 100), channel(2, 1, 50)],
      [channel(1, 1, 101), channel(2, 1, 50)],
      [channel(1, 1, 101), channel(2, 3, 102)],
    ]
    let poll = 0
    const calls = fakeServer(() => ({ success: true, data: { page: 1, page_size: 100, total: 2, items: lists[Math.min(poll++, 2)] } }))
    const seen: string[] = []
    const sleeps: number[] = []
    const result = await waitForTests(testSnapshot(lists[0]!), {
      interval: 500,
      onProgress: (p) => seen.push(`${p.done}/${p.total}`),
      sleep: async (ms) => void sleeps.push(ms),
    })
    expect(result).toEqual({ done: 2, total: 2, timedOut: false })
    expect(seen).toEqual(['0/2', '1/2', '2/2'])
    expect(sleeps).toEqual([500, 500])
    expect(calls.every((c) => c.url.startsWith('/api/channel/?'))).toBe(true)
  })

  it('gives up at the limit', async () => {
    const calls = fakeServer(() => ({ success: true, data: { page: 1, page_size: 100, total: 1, items: [channel(1, 1, 100)] } }))
    let clock = 0
    const result = await waitForTests(testSnapshot([channel(1, 1, 100)]), {
      interval: 1000,
      limit: 3000,
      now: () => clock,
      sleep: async (ms) => void (clock += ms),
    })
    expect(result).toEqual({ done: 0, total: 1, timedOut: true })
    expect(calls).toHaveLength(4) // at 0, 1, 2 and 3 s: the last poll is at the limit
    expect(clock).toBe(3000)
  })
})

describe('channel editor: fetch models', () => {
  function mountEditor(form: ChannelForm) {
    const Host = defineComponent(() => () => h(NMessageProvider, () => h(ChannelEditor, { show: true, form })))
    return mount(Host, { attachTo: document.body })
  }
  const click = (test: string) => document.querySelector<HTMLElement>(`[data-test="${test}"]`)!.click()
  const modelTags = () => [...document.querySelectorAll('[data-test="channel-models"] .n-tag__content')].map((e) => e.textContent).filter(Boolean)

  it('lists the fetched models all checked and keeps the checked ones', async () => {
    const calls = fakeServer((url) => {
      if (url === '/api/models') return { success: true, data: {} }
      if (url === '/api/group/') return { success: true, data: ['default'] }
      return { success: true, data: MODELS }
    })
    const wrapper = mountEditor(saved())
    await flushPromises()
    click('channel-fetch-models')
    await flushPromises()
    expect(calls.at(-1)).toEqual({ method: 'GET', url: '/api/channel/fetch_models/7', body: undefined })
    const boxes = [...document.querySelectorAll<HTMLElement>('[data-test="fetched-models"] [data-model]')]
    expect(boxes.map((b) => b.dataset.model)).toEqual(MODELS)
    expect(boxes.every((b) => b.classList.contains('n-checkbox--checked'))).toBe(true)
    boxes[2]!.click() // drop the embedding model
    await flushPromises()
    expect(document.querySelector('[data-test="fetched-use"]')!.textContent).toContain('Use 3 model(s)')
    click('fetched-use')
    await flushPromises()
    expect(document.querySelector('[data-test="fetched-models"]')).toBeNull()
    expect(modelTags()).toEqual(['gpt-4o-mini', 'gpt-4o', 'claude-sonnet-4-20250514'])
    wrapper.unmount()
  })

  it("shows the server's message and leaves the models alone", async () => {
    fakeServer((url) => {
      if (url === '/api/models') return { success: true, data: {} }
      if (url === '/api/group/') return { success: true, data: ['default'] }
      return { success: false, message: 'the upstream refused: Incorrect API key provided: ********.' }
    })
    const wrapper = mountEditor(saved())
    await flushPromises()
    click('channel-fetch-models')
    await flushPromises()
    expect(document.body.textContent).toContain('the upstream refused: Incorrect API key provided')
    expect(document.querySelector('[data-test="fetched-models"]')).toBeNull()
    expect(modelTags()).toEqual(['old'])
    wrapper.unmount()
  })
})
