// Channels of a type newapi does not serve (adopted from new-api): tagged in the list, never
// offered by the type picker.
import { beforeEach, describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import UnservedTag from '../src/components/UnservedTag.vue'
import { CHANNEL_TYPES, isServed } from '../src/lib/channels'
import { useLocale } from '../src/stores/locale'

describe('served channels', () => {
  beforeEach(() => {
    localStorage.clear()
    setActivePinia(createPinia())
  })

  it('trusts the API, and falls back to the types the picker offers', () => {
    expect(isServed({ type: 33, served: false })).toBe(false)
    expect(isServed({ type: 1, served: true })).toBe(true)
    expect(isServed({ type: 1, served: false })).toBe(false) // the server knows best
    expect(isServed({ type: 1 })).toBe(true)
    expect(isServed({ type: 33 })).toBe(false)
  })

  it('the type picker offers no unserved type', () => {
    const ids = CHANNEL_TYPES.map((type) => type.id)
    for (const unserved of [2, 15, 17, 33, 34, 37, 45, 49]) expect(ids).not.toContain(unserved)
    expect(ids).toEqual(expect.arrayContaining([1, 3, 4, 8, 14, 20, 24, 25, 27, 40, 41, 42, 43, 48]))
  })

  it('tags an unserved row in English and Chinese, and leaves served rows alone', async () => {
    useLocale().set('en')
    const tagged = mount(UnservedTag, { props: { channel: { type: 33, served: false } } })
    const tag = tagged.find('[data-test="channel-unserved"]')
    expect(tag.exists()).toBe(true)
    expect(tag.text()).toBe('not served by this version')
    useLocale().set('zh')
    await tagged.vm.$nextTick()
    expect(tagged.find('[data-test="channel-unserved"]').text()).toBe('此版本不支持')
    const served = mount(UnservedTag, { props: { channel: { type: 1, served: true } } })
    expect(served.find('[data-test="channel-unserved"]').exists()).toBe(false)
  })
})
