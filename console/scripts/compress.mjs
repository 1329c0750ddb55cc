// After `vite build`: write a gzip copy beside each large text asset; newapi sends it to callers
// that accept gzip (newapi/console.py), so the first load moves ~4x fewer bytes.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

const MIN_BYTES = 1024
const dist = new URL('../dist/', import.meta.url).pathname

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) walk(path)
    else if (/\.(js|css|html|svg)$/.test(name) && statSync(path).size >= MIN_BYTES) {
      writeFileSync(`${path}.gz`, gzipSync(readFileSync(path), { level: 9 }))
    }
  }
}

walk(dist)
