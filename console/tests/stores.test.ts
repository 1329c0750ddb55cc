import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { messages } from '../src/i18n/messages'
import { initialLocale, interpolate, LOCALE_KEY, useLocale } from '../src/stores/locale'
import { useAuth } from '../src/stores/auth'
import { USER_KEY } from '../src/api/http'

beforeEach(() => {
  localStorage.clear()
  setActivePinia(createPinia())
  vi.unstubAllGlobals()
})

describe('locale store', () => {
  it('prefers the remembered choice, then the browser language', () => {
    expect(initialLocale('zh', 'en-US')).toBe('zh')
    expect(initialLocale(null, 'zh-TW')).toBe('zh')
    expect(initialLocale('fr', 'de-DE')).toBe('en')
  })

  it('switches, translates and remembers', () => {
    const locale = useLocale()
    locale.set('zh')
    expect(locale.t('nav.channels')).toBe('渠道')
    expect(localStorage.getItem(LOCALE_KEY)).toBe('zh')
    expect(locale.t('ch.testOk', { name: 'c1', seconds: '0.50' })).toBe('渠道 c1 响应用时 0.50 秒')
    setActivePinia(createPinia())
    expect(useLocale().locale).toBe('zh')
  })

  it('has every English text in Chinese, with the same placeholders', () => {
    for (const [key, text] of Object.entries(messages.en)) {
      const zh = messages.zh[key as keyof typeof messages.en]
      expect(zh, key).toBeTruthy()
      const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort()
      if (!key.startsWith('ch.modelMappingHint')) expect(names(zh), key).toEqual(names(text))
    }
  })

  it('interpolates only known placeholders', () => {
    expect(interpolate('a {x} {y}', { x: 1 })).toBe('a 1 {y}')
  })
})

describe('auth store', () => {
  it('remembers the logged-in user for the New-Api-User header and forgets it on logout', async () => {
    const replies = [
      { success: true, data: { id: 1, username: 'root', display_name: 'Root', role: 100, status: 1, group: 'default' } },
      { success: true, data: null },
    ]
    vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify(replies.shift()))))
    const auth = useAuth()
    await auth.login('root', 'pw')
    expect(auth.isRoot).toBe(true)
    expect(JSON.parse(localStorage.getItem(USER_KEY)!).id).toBe(1)
    await auth.logout()
    expect(auth.loggedIn).toBe(false)
    expect(localStorage.getItem(USER_KEY)).toBeNull()
  })

  it('forgets the user even when the logout call fails', async () => {
    localStorage.setItem(USER_KEY, JSON.stringify({ id: 2, username: 'u', role: 1 }))
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('offline'))))
    const auth = useAuth()
    expect(auth.loggedIn).toBe(true)
    await expect(auth.logout()).rejects.toThrow('offline')
    expect(auth.loggedIn).toBe(false)
  })

  it('uses the quota unit from /api/status', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify({ success: true, data: { quota_per_unit: 1000, setup: true } }))))
    const auth = useAuth()
    expect(auth.quotaPerUnit).toBe(500_000)
    await auth.loadStatus()
    expect(auth.quotaPerUnit).toBe(1000)
  })
})
