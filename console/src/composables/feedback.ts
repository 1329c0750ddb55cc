/** Showing results: every failure shows the server's own message. */
import { useMessage } from 'naive-ui'
import { ref } from 'vue'
import { useLocale } from '../stores/locale'

export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message
  return String(error)
}

export function useFeedback() {
  const message = useMessage()
  const { t } = useLocale()
  return {
    t,
    fail(error: unknown): void {
      message.error(errorText(error), { duration: 6000, closable: true })
    },
    done(text: string): void {
      message.success(text)
    },
  }
}

/** Run `work` while `busy` is true; failures are shown, not thrown. Returns whether it succeeded. */
export function useBusy() {
  const busy = ref(false)
  const { fail } = useFeedback()
  async function run(work: () => Promise<unknown>): Promise<boolean> {
    busy.value = true
    try {
      await work()
      return true
    } catch (error) {
      fail(error)
      return false
    } finally {
      busy.value = false
    }
  }
  return { busy, run }
}

/** Copy text; falls back to a hidden textarea where the clipboard API is refused (plain http). */
export async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text)
    return
  }
  const area = document.createElement('textarea')
  area.value = text
  area.style.position = 'fixed'
  area.style.opacity = '0'
  document.body.appendChild(area)
  area.select()
  document.execCommand('copy')
  area.remove()
}
