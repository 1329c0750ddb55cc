import { api } from './http'

export interface PricingRow {
  model_name: string
  quota_type: number
  model_ratio: number
  model_price: number
  completion_ratio: number
  enable_groups: string[]
}

/** Models the logged-in user can call (GET /api/pricing lists them with their prices). */
export async function usableModels(): Promise<string[]> {
  const rows = await api.get<PricingRow[]>('/api/pricing')
  return (rows ?? []).map((row) => row.model_name)
}
