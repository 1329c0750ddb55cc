/** The console's language: English or Chinese, switchable, remembered in localStorage. */
import { defineStore } from 'pinia'
import { ref } from 'vue'
import { messages, type Locale, type MessageKey } from '../i18n/messages'

export const LOCALE_KEY = 'console-locale'

/** The remembered language, else the browser's (Chinese for any zh-*), else English. */
export function initialLocale(stored: string | null, browser: string | undefined): Locale {
  if (stored === 'en' || stored === 'zh') return stored
  return browser?.toLowerCase().startsWith('zh') ? 'zh' : 'en'
}

/** Fill `{name}` placeholders. */
export function interpolate(text: string, params?: Record<string, string | number>): string {
  if (!params) return text
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole))
}

export const useLocale = defineStore('locale', () => {
  const locale = ref<Locale>(initialLocale(localStorage.getItem(LOCALE_KEY), navigator.language))
  document.documentElement.lang = locale.value === 'zh' ? 'zh-CN' : 'en'

  function set(next: Locale): void {
    locale.value = next
    localStorage.setItem(LOCALE_KEY, next)
    document.documentElement.lang = next === 'zh' ? 'zh-CN' : 'en'
  }

  function t(key: MessageKey, params?: Record<string, string | number>): string {
    return interpolate(messages[locale.value][key] ?? messages.en[key] ?? key, params)
  }

  return { locale, set, t }
})
