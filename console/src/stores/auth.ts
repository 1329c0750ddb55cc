/** Who is logged in, the public /api/status, and the login/logout/setup calls. */
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { api, USER_KEY } from '../api/http'
import { DEFAULT_QUOTA_PER_UNIT } from '../lib/format'

export interface SessionUser {
  id: number
  username: string
  display_name: string
  role: number
  status: number
  group: string
}

export interface SiteStatus {
  version: string
  system_name: string
  setup: boolean
  quota_per_unit: number
  register_enabled: boolean
  password_register_enabled: boolean
  [key: string]: unknown
}

export interface SetupStatus {
  status: boolean
  root_init: boolean
  database_type: string
}

export const ROLE = { common: 1, admin: 10, root: 100 } as const

function readStoredUser(storage: Storage): SessionUser | null {
  try {
    const user = JSON.parse(storage.getItem(USER_KEY) ?? 'null')
    return user && Number.isInteger(user.id) ? (user as SessionUser) : null
  } catch {
    return null
  }
}

export const useAuth = defineStore('auth', () => {
  const user = ref<SessionUser | null>(readStoredUser(localStorage))
  const status = ref<SiteStatus | null>(null)

  const loggedIn = computed(() => user.value !== null)
  const isAdmin = computed(() => (user.value?.role ?? 0) >= ROLE.admin)
  const isRoot = computed(() => (user.value?.role ?? 0) >= ROLE.root)
  const quotaPerUnit = computed(() => status.value?.quota_per_unit || DEFAULT_QUOTA_PER_UNIT)

  function remember(next: SessionUser | null): void {
    user.value = next
    if (next) localStorage.setItem(USER_KEY, JSON.stringify(next))
    else localStorage.removeItem(USER_KEY)
  }

  async function loadStatus(): Promise<SiteStatus> {
    status.value = await api.get<SiteStatus>('/api/status')
    return status.value
  }

  async function setupStatus(): Promise<SetupStatus> {
    return api.get<SetupStatus>('/api/setup')
  }

  async function setup(username: string, password: string, confirmPassword: string): Promise<void> {
    await api.post('/api/setup', { username, password, confirmPassword })
    if (status.value) status.value.setup = true
  }

  async function login(username: string, password: string): Promise<SessionUser> {
    const data = await api.post<SessionUser>('/api/user/login', { username, password })
    remember(data)
    return data
  }

  async function register(username: string, password: string): Promise<void> {
    await api.post('/api/user/register', { username, password })
  }

  async function logout(): Promise<void> {
    try {
      await api.get('/api/user/logout')
    } finally {
      remember(null)
    }
  }

  /** The session ended on the server (401): forget the user locally. */
  function expire(): void {
    remember(null)
  }

  return {
    user,
    status,
    loggedIn,
    isAdmin,
    isRoot,
    quotaPerUnit,
    loadStatus,
    setupStatus,
    setup,
    login,
    register,
    logout,
    expire,
    remember,
  }
})
