// TagEditor mounted in jsdom with fetch stubbed: it starts from the tag's values and sends only
// what the admin changed to PUT /api/channel/tag.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { defineComponent, h, ref } from 'vue'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { NMessageProvider } from 'naive-ui'
import TagEditor from '../src/components/TagEditor.vue'
import { tagGroup } from '../src/lib/tags'
import type { Channel } from '../src/lib/channels'

const channel = (id: number, priority: number): Channel => ({
  id, type: 1, name: `c${id}`, status: 1, weight: 2, priority, base_url: null, other: '', models: 'a', group: 'default',
  model_mapping: null, test_model: null, tag: 'east', remark: null, response_time: 0, test_time: 0, balance: 0, used_quota: 0, auto_ban: 1,
})

function fakeServer(putReply: unknown = { success: true, message: '', data: 2 }) {
  const calls: { method: string; url: string; body: unknown }[] = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit) => {
      calls.push({ method: init.method ?? 'GET', url, body: init.body ? JSON.parse(String(init.body)) : undefined })
      if (url.startsWith('/api/channel/tag/models')) return Response.json({ success: true, data: 'a,b' })
      if (url === '/api/group/') return Response.json({ success: true, data: ['default', 'vip'] })
      return Response.json(putReply)
    }),
  )
  return calls
}

function mountEditor() {
  const events: string[] = []
  const group = ref(tagGroup('east', [channel(1, 3), channel(2, 5)]))
  const Host = defineComponent(() => () =>
    h(NMessageProvider, () =>
      h(TagEditor, { group: group.value, onClose: () => events.push('close'), onSaved: () => events.push('saved') }),
    ),
  )
  return { wrapper: mount(Host, { attachTo: document.body }), events }
}

const input = (test: string) => document.querySelector<HTMLInputElement>(`[data-test="${test}"] input`)!
const click = (test: string) => document.querySelector<HTMLElement>(`[data-test="${test}"]`)!.click()

beforeEach(() => {
  setActivePinia(createPinia())
  // jsdom has no matchMedia; the editor asks it whether the screen is a phone's.
  vi.stubGlobal('matchMedia', (query: string) => ({ matches: false, media: query, addEventListener() {}, removeEventListener() {} }))
})
afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

describe('tag editor', () => {
  it('starts from the shared values and sends only the changed ones', async () => {
    const calls = fakeServer()
    const { wrapper, events } = mountEditor()
    await flushPromises()
    expect(calls.map((c) => c.url)).toEqual(['/api/channel/tag/models?tag=east', '/api/group/'])
    expect(input('tag-new-name').value).toBe('east')
    expect(input('tag-priority').value).toBe('') // the channels differ
    expect(input('tag-weight').value).toBe('2')
    expect(document.body.textContent).toContain('b') // models from /tag/models

    const weight = input('tag-weight')
    weight.value = '9'
    weight.dispatchEvent(new Event('input'))
    weight.dispatchEvent(new Event('blur'))
    const name = input('tag-new-name')
    name.value = 'north'
    name.dispatchEvent(new Event('input'))
    await flushPromises()
    click('tag-save')
    await flushPromises()
    expect(calls.at(-1)).toEqual({ method: 'PUT', url: '/api/channel/tag', body: { tag: 'east', new_tag: 'north', weight: 9 } })
    expect(events).toEqual(['saved', 'close'])
    wrapper.unmount()
  })

  it("keeps the dialog open and shows the server's message on a refusal", async () => {
    const calls = fakeServer({ success: false, message: 'weight must not be negative' })
    const { wrapper, events } = mountEditor()
    await flushPromises()
    const priority = input('tag-priority')
    priority.value = '1'
    priority.dispatchEvent(new Event('input'))
    priority.dispatchEvent(new Event('blur'))
    await flushPromises()
    click('tag-save')
    await flushPromises()
    expect(calls.at(-1)?.body).toEqual({ tag: 'east', priority: 1 })
    expect(document.body.textContent).toContain('weight must not be negative')
    expect(events).toEqual([])
    wrapper.unmount()
  })

  it('sends nothing when nothing changed', async () => {
    const calls = fakeServer()
    const { wrapper, events } = mountEditor()
    await flushPromises()
    click('tag-save')
    await flushPromises()
    expect(calls.filter((c) => c.method === 'PUT')).toEqual([])
    expect(events).toEqual(['close'])
    wrapper.unmount()
  })
})
