import { onBeforeUnmount, ref } from 'vue'

/** True at phone widths; pages switch tables to cards and the sider to a drawer. */
export function usePhone(query = '(max-width: 768px)') {
  const media = window.matchMedia(query)
  const phone = ref(media.matches)
  const update = (event: MediaQueryListEvent) => (phone.value = event.matches)
  media.addEventListener('change', update)
  onBeforeUnmount(() => media.removeEventListener('change', update))
  return phone
}
