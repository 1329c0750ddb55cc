/// <reference types="vitest/config" />
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// `npm run dev` proxies the admin API and the relay to a local newapi (make run: port 3000).
const backend = process.env.NEWAPI_URL ?? 'http://127.0.0.1:3000'

export default defineConfig({
  plugins: [vue()],
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    chunkSizeWarningLimit: 1200,
    rollupOptions: {
      output: {
        // Charts are only needed on the dashboard: keep them out of the first load.
        manualChunks(id: string) {
          if (id.includes('node_modules/echarts') || id.includes('node_modules/zrender')) return 'charts'
          return undefined
        },
      },
    },
  },
  server: {
    proxy: { '/api': backend, '/v1': backend },
  },
  test: {
    environment: 'jsdom',
    include: ['tests/**/*.test.ts'],
  },
})
