// KeyStatusPanel mounted in jsdom with the HTTP layer stubbed: what an admin sees and sends.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { defineComponent, h, nextTick } from 'vue'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { NMessageProvider } from 'naive-ui'
import KeyStatusPanel from '../src/components/KeyStatusPanel.vue'

type Key = { index: number; status: number; disabled_reason: string; disabled_time: number; preview: string }

/** A fake multi_key/manage that keeps key statuses and records every body it gets. */
function fakeServer(keys: Key[]) {
  const bodies: Record<string, unknown>[] = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (_url: string, init: RequestInit) => {
      const body = JSON.parse(String(init.body)) as { action: string; key_index?: number }
      bodies.push(body)
      if (body.action === 'get_key_status') return Response.json({ success: true, message: '', data: { mode: 'random', keys } })
      if (body.action === 'disable_key' && body.key_index === 9) return Response.json({ success: false, message: 'key_index 9 is out of range' })
      for (const key of keys) {
        if (body.action === 'enable_all_keys' || key.index === body.key_index) {
          key.status = body.action === 'disable_key' ? 2 : 1
          key.disabled_reason = body.action === 'disable_key' ? 'disabled by hand' : ''
        }
      }
      return Response.json({ success: true, message: '' })
    }),
  )
  return bodies
}

function mountPanel() {
  const Host = defineComponent(() => () => h(NMessageProvider, () => h(KeyStatusPanel, { channelId: 12 })))
  return mount(Host, { attachTo: document.body })
}

const statuses = () => [...document.querySelectorAll('[data-key-index] [data-state]')].map((el) => el.getAttribute('data-state'))

beforeEach(() => setActivePinia(createPinia()))
afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

describe('key status panel', () => {
  it('shows each key, the reason of an auto-disabled one, and switches keys', async () => {
    const bodies = fakeServer([
      { index: 0, status: 1, disabled_reason: '', disabled_time: 0, preview: 'sk-aa…0000' },
      { index: 1, status: 3, disabled_reason: 'status 401: invalid key', disabled_time: 1_700_000_000, preview: 'sk-aa…1111' },
    ])
    const wrapper = mountPanel()
    await flushPromises()
    expect(statuses()).toEqual(['enabled', 'autoDisabled'])
    expect(document.body.textContent).toContain('status 401: invalid key')
    expect(document.body.textContent).toContain('sk-aa…1111')
    expect(wrapper.find('[data-test="key-count-enabled"]').text()).toBe('1/2 keys enabled')

    await wrapper.find('[data-key-index="0"] [data-test="key-disable"]').trigger('click')
    await flushPromises()
    expect(bodies.at(-2)).toEqual({ channel_id: 12, action: 'disable_key', key_index: 0 })
    expect(bodies.at(-1)).toEqual({ channel_id: 12, action: 'get_key_status' })
    expect(statuses()).toEqual(['disabled', 'autoDisabled'])

    await wrapper.find('[data-key-index="1"] [data-test="key-enable"]').trigger('click')
    await flushPromises()
    expect(bodies.at(-2)).toEqual({ channel_id: 12, action: 'enable_key', key_index: 1 })
    expect(statuses()).toEqual(['disabled', 'enabled'])
    wrapper.unmount()
  })

  it("shows the server's message when an action is refused", async () => {
    fakeServer([{ index: 9, status: 1, disabled_reason: '', disabled_time: 0, preview: 'sk-x…9' }])
    const wrapper = mountPanel()
    await flushPromises()
    await wrapper.find('[data-key-index="9"] [data-test="key-disable"]').trigger('click')
    await flushPromises()
    await nextTick()
    expect(document.body.textContent).toContain('key_index 9 is out of range')
    expect(statuses()).toEqual(['enabled'])
    wrapper.unmount()
  })
})
