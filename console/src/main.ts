import { createApp } from 'vue'
import { createPinia } from 'pinia'
import App from './App.vue'
import { createConsoleRouter } from './router'
import { setUnauthorizedHandler } from './api/http'
import { useAuth } from './stores/auth'

const app = createApp(App)
const pinia = createPinia()
app.use(pinia)
const router = createConsoleRouter(pinia)
app.use(router)

// A 401 from the admin API means the session is gone: forget the user and ask for a login.
setUnauthorizedHandler(() => {
  const auth = useAuth(pinia)
  if (!auth.loggedIn) return
  auth.expire()
  const current = router.currentRoute.value
  if (current.meta.auth) void router.push({ name: 'login', query: { redirect: current.fullPath, expired: '1' } })
})

app.mount('#app')
