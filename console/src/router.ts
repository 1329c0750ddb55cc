import type { Pinia } from 'pinia'
import { createRouter, createWebHistory, type RouteRecordRaw, type Router } from 'vue-router'
import { useAuth } from './stores/auth'

declare module 'vue-router' {
  interface RouteMeta {
    auth?: boolean
    admin?: boolean
    root?: boolean
    title?: string
  }
}

const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/console' },
  { path: '/setup', name: 'setup', component: () => import('./views/SetupView.vue') },
  { path: '/login', name: 'login', component: () => import('./views/LoginView.vue') },
  { path: '/register', name: 'register', component: () => import('./views/LoginView.vue'), props: { register: true } },
  {
    path: '/console',
    component: () => import('./layouts/ConsoleLayout.vue'),
    meta: { auth: true },
    children: [
      { path: '', name: 'dashboard', component: () => import('./views/DashboardView.vue'), meta: { auth: true } },
      { path: 'channel', name: 'channels', component: () => import('./views/ChannelsView.vue'), meta: { auth: true, admin: true } },
      { path: 'token', name: 'tokens', component: () => import('./views/TokensView.vue'), meta: { auth: true } },
      { path: 'playground', name: 'playground', component: () => import('./views/PlaygroundView.vue'), meta: { auth: true } },
      { path: 'log', name: 'logs', component: () => import('./views/LogsView.vue'), meta: { auth: true } },
      { path: 'user', name: 'users', component: () => import('./views/UsersView.vue'), meta: { auth: true, admin: true } },
      { path: 'redemption', name: 'redemptions', component: () => import('./views/RedemptionsView.vue'), meta: { auth: true, admin: true } },
      { path: 'setting', name: 'settings', component: () => import('./views/SettingsView.vue'), meta: { auth: true, root: true } },
      { path: 'pricing', name: 'pricing', component: () => import('./views/PricingView.vue'), meta: { auth: true } },
      { path: 'personal', name: 'profile', component: () => import('./views/ProfileView.vue'), meta: { auth: true } },
    ],
  },
  { path: '/:rest(.*)*', name: 'not-found', component: () => import('./views/NotFoundView.vue') },
]

export function createConsoleRouter(pinia: Pinia): Router {
  const router = createRouter({ history: createWebHistory(), routes })
  router.beforeEach(async (to) => {
    const auth = useAuth(pinia)
    if (!auth.status) {
      try {
        await auth.loadStatus()
      } catch {
        // The status page failing must not lock the console: pages show their own errors.
      }
    }
    if (auth.status && !auth.status.setup && to.name !== 'setup') return { name: 'setup' }
    if (to.meta.auth && !auth.loggedIn) return { name: 'login', query: { redirect: to.fullPath } }
    if (to.meta.admin && !auth.isAdmin) return { name: 'dashboard' }
    if (to.meta.root && !auth.isRoot) return { name: 'dashboard' }
    if ((to.name === 'login' || to.name === 'setup') && auth.loggedIn) return { name: 'dashboard' }
    return true
  })
  return router
}
