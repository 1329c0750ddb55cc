/** A remote paginated list: page, page size, total, loading, and reload on filter changes. */
import { reactive, ref, type Ref } from 'vue'
import type { Page } from '../api/http'
import { useFeedback } from './feedback'

export function usePaged<T>(fetchPage: (page: number, size: number) => Promise<Page<T>>, size = 10) {
  const rows = ref([]) as Ref<T[]>
  const loading = ref(false)
  const { fail } = useFeedback()
  const pagination = reactive({
    page: 1,
    pageSize: size,
    itemCount: 0,
    showSizePicker: true,
    pageSizes: [10, 20, 50, 100],
    prefix: ({ itemCount }: { itemCount: number | undefined }) => `${itemCount ?? 0}`,
  })

  async function load(): Promise<void> {
    loading.value = true
    try {
      const data = await fetchPage(pagination.page, pagination.pageSize)
      rows.value = data.items ?? []
      pagination.itemCount = data.total
    } catch (error) {
      fail(error)
    } finally {
      loading.value = false
    }
  }

  function goTo(page: number): void {
    pagination.page = page
    void load()
  }

  function resize(pageSize: number): void {
    pagination.pageSize = pageSize
    pagination.page = 1
    void load()
  }

  /** Filters changed: back to page one. */
  function reset(): void {
    goTo(1)
  }

  return { rows, loading, pagination, load, goTo, resize, reset }
}
