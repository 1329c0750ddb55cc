// End-to-end: a person's first session in the console, in Debian's Chromium, against a real
// newapi (CONSOLE_URL) whose only upstream is the fake provider (FAKE_URL), which streams
// EXPECTED_TEXT slowly enough to see it arrive. Screenshots of every page go to SCREENSHOT_DIR.
// Run by tests/console/test_browser.py; exits non-zero with the failing step on any failure.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium } from 'playwright-core'

const BASE = required('CONSOLE_URL')
const FAKE = required('FAKE_URL')
const TEXT = required('EXPECTED_TEXT')
const SHOTS = process.env.SCREENSHOT_DIR ?? '../artifacts/console'
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
const PASSWORD = 'console-root-pw-1'
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage',
]

function required(name) {
  const value = process.env[name]
  if (!value) throw new Error(`${name} is not set`)
  return value
}

function check(condition, message) {
  if (!condition) throw new Error(message)
}

mkdirSync(SHOTS, { recursive: true })
const started = Date.now()
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS })
const context = await browser.newContext({ viewport: { width: 1366, height: 860 }, locale: 'en-US' })
// No transitions: screenshots show settled pages, and steps never wait for an animation.
await context.addInitScript(() => {
  document.addEventListener('DOMContentLoaded', () => {
    const style = document.createElement('style')
    style.textContent = '*, *::before, *::after { transition: none !important; animation: none !important }'
    document.head.appendChild(style)
  })
})
const page = await context.newPage()
page.setDefaultTimeout(10_000)
const consoleErrors = []
page.on('pageerror', (error) => consoleErrors.push(String(error)))

let current = 'start'
async function step(name, body) {
  current = name
  const t0 = Date.now()
  await body()
  console.log(`ok   ${name} (${Date.now() - t0} ms)`)
}
const shot = (name) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true })
const byTest = (name) => page.locator(`[data-test="${name}"]`)
/** Naive UI's message toasts: the newest one with `text`. */
const toast = (text) => page.locator('.n-message', { hasText: text }).last()
/**
 * Click `target` until `done` shows (at most `tries` clicks). The channel table re-renders
 * when its list reloads; a click that lands on a row being replaced is lost (seen about once
 * in 20 runs), so the click is repeated, never the check: `done` must still appear.
 */
async function clickUntil(target, done, tries = 3) {
  for (let attempt = 1; attempt < tries; attempt++) {
    await target.click()
    try {
      await done.waitFor({ timeout: 4_000 })
      return
    } catch {
      // the click was lost in a re-render: click again
    }
  }
  await target.click()
  await done.waitFor()
}
async function nav(name) {
  await page.locator(`[data-nav="${name}"]`).click()
}

try {
  await step('first visit goes to setup', async () => {
    await page.goto(BASE + '/')
    await page.waitForURL('**/setup')
    await byTest('setup-username').locator('input').fill('root')
    await byTest('setup-password').locator('input').fill(PASSWORD)
    await byTest('setup-confirm').locator('input').fill(PASSWORD + 'x')
    await byTest('setup-submit').click()
    await toast('The two passwords differ').waitFor()
    await byTest('setup-confirm').locator('input').fill(PASSWORD)
    await shot('01-setup')
    await byTest('setup-submit').click()
    await page.waitForURL('**/login?username=root')
  })

  await step('login shows the server message, then logs in', async () => {
    await byTest('login-password').locator('input').fill('wrong-password')
    await byTest('login-submit').click()
    await toast('wrong username or password').waitFor()
    await byTest('login-password').locator('input').fill(PASSWORD)
    await shot('02-login')
    await byTest('login-submit').click()
    await page.waitForURL(/\/console$/)
    await byTest('current-user').filter({ hasText: 'root' }).waitFor()
  })

  await step('language switches to Chinese and is remembered', async () => {
    await byTest('locale').click()
    await page.locator('[data-nav="channels"]', { hasText: '渠道' }).first().waitFor()
    await page.reload()
    await page.locator('[data-nav="channels"]', { hasText: '渠道' }).first().waitFor()
    await shot('03-dashboard-zh')
    await byTest('locale').click()
    await page.locator('[data-nav="channels"]', { hasText: 'Channels' }).first().waitFor()
  })

  await step('create a channel (the server refuses a bad URL first)', async () => {
    await nav('channels')
    await page.waitForURL('**/console/channel')
    await byTest('channel-add').click()
    const editor = byTest('channel-editor')
    await editor.waitFor()
    await byTest('channel-name').locator('input').fill('fake-openai')
    await byTest('channel-base-url').locator('input').fill('ftp://not-http')
    await byTest('channel-key').locator('textarea').fill('sk-fake-upstream-key')
    await byTest('channel-models').click()
    await page.keyboard.type('gpt-4o-mini')
    await page.keyboard.press('Enter')
    await page.keyboard.press('Escape')
    await shot('04-channel-editor')
    await byTest('channel-save').click()
    await toast('base_url must be empty or an http(s) URL').waitFor()
    await byTest('channel-base-url').locator('input').fill(FAKE)
    await byTest('channel-save').click()
    await toast('Channel created').waitFor()
    await editor.waitFor({ state: 'hidden' })
    await page.locator('[data-channel-name="fake-openai"]').waitFor()
  })

  await step('several keys make one multi-key channel', async () => {
    await byTest('channel-add').click()
    await byTest('channel-name').locator('input').fill('multi')
    await byTest('channel-base-url').locator('input').fill(FAKE)
    await byTest('channel-key').locator('textarea').fill('sk-multi-key-one-1111\nsk-multi-key-two-2222')
    await byTest('channel-key-split').waitFor()
    await byTest('channel-models').click()
    await page.keyboard.type('zz-multi-model')
    await page.keyboard.press('Enter')
    await page.keyboard.press('Escape')
    await byTest('channel-tag').locator('input').fill('e2e-tag')
    await byTest('channel-save').click()
    await toast('Channel created').waitFor()
    const row = page.locator('tr', { has: page.locator('[data-channel-name="multi"]') })
    await row.getByText('2 keys').waitFor()
    await shot('04b-multi-key-channel')
  })

  await step("a key's status: disable one (with its reason), then enable all", async () => {
    const row = page.locator('tr', { has: page.locator('[data-channel-name="multi"]') })
    await row.locator('[data-test="channel-keys"]').click()
    const dialog = byTest('key-dialog')
    const key0 = dialog.locator('[data-key-index="0"]')
    await key0.locator('[data-state="enabled"]').waitFor()
    check((await dialog.innerText()).includes('sk-mu…1111'), 'the key preview is missing')
    check(!(await dialog.innerText()).includes('sk-multi-key-one-1111'), 'the dialog shows a whole key')
    await key0.locator('[data-test="key-disable"]').click()
    await toast('Key #0 disabled').waitFor()
    await key0.locator('[data-state="disabled"]').waitFor()
    await key0.locator('[data-test="key-reason"]').filter({ hasText: 'disabled by an admin' }).waitFor()
    await row.getByText('1/2 keys enabled').waitFor()
    await shot('04c-key-status')
    await dialog.locator('[data-test="key-enable-all"]').click()
    await page.locator('.n-popconfirm__action button').last().click()
    await toast('All keys enabled').waitFor()
    await key0.locator('[data-state="enabled"]').waitFor()
    await row.getByText('2 keys').waitFor()
    await dialog.locator('.n-card-header__close').click()
    await dialog.waitFor({ state: 'hidden' })
  })

  await step('tag mode: switch a tag off and on, edit what its channels share', async () => {
    await byTest('tag-mode').click()
    const tagRow = page.locator('tr', { has: page.locator('[data-tag-name="e2e-tag"]') })
    const child = page.locator('tr', { has: page.locator('[data-channel-name="multi"]') })
    await tagRow.waitFor()
    await child.waitFor()
    await clickUntil(
      tagRow.locator('[data-test="tag-disable"]'),
      toast('Tag e2e-tag: 1 channel(s) disabled'),
    )
    await child.locator('[data-state="disabled"]').waitFor()
    await tagRow.locator('[data-test="tag-enable"]').click()
    await child.locator('[data-state="enabled"]').waitFor()
    await tagRow.locator('[data-test="tag-edit"]').click()
    await byTest('tag-priority').locator('input').waitFor()
    await byTest('tag-priority').locator('input').fill('7')
    await shot('04d-tag-editor')
    await byTest('tag-save').click()
    await toast('Tag e2e-tag saved (1 channel(s))').waitFor()
    await byTest('tag-editor').waitFor({ state: 'hidden' })
    await page.waitForFunction(() => {
      const cells = [...document.querySelectorAll('tr')].find((tr) => tr.querySelector('[data-channel-name="multi"]'))?.querySelectorAll('td')
      return cells ? [...cells].some((td) => td.textContent?.trim() === '7') : false
    })
    await shot('04e-tag-mode')
  })

  await step('bulk delete removes the multi-key channel', async () => {
    await byTest('tag-mode').click()
    const row = page.locator('tr', { has: page.locator('[data-channel-name="multi"]') })
    await clickUntil(row.locator('.n-checkbox'), row.locator('.n-checkbox--checked'))
    await page.getByRole('button', { name: 'Delete selected' }).click()
    await page.locator('.n-popconfirm__action button').last().click()
    await toast('1 channel(s) changed').waitFor()
    await row.waitFor({ state: 'detached' })
    await page.locator('[data-channel-name="fake-openai"]').waitFor()
  })

  await step('test the channel and see its latency', async () => {
    const row = page.locator('tr', { has: page.locator('[data-channel-name="fake-openai"]') })
    check((await row.locator('[data-test="response-time"]').innerText()).trim() === '-', 'untested channel shows a time')
    await clickUntil(row.locator('[data-test="channel-test"]'), toast('answered in'))
    await page.waitForFunction(() => {
      const cell = document.querySelector('[data-test="response-time"]')
      return cell && /\d+(\.\d+)? m?s/.test(cell.textContent ?? '')
    })
    await shot('05-channels')
  })

  await step('disable and enable the channel', async () => {
    const row = page.locator('tr', { has: page.locator('[data-channel-name="fake-openai"]') })
    await row.locator('[data-test="channel-disable"]').click()
    await row.locator('[data-state="disabled"]').waitFor()
    await row.locator('[data-test="channel-enable"]').click()
    await row.locator('[data-state="enabled"]').waitFor()
  })

  await step('edit form: the key stays hidden, Azure asks for its api-version', async () => {
    const row = page.locator('tr', { has: page.locator('[data-channel-name="fake-openai"]') })
    await row.locator('[data-test="channel-edit"]').click()
    await byTest('channel-editor').waitFor()
    check((await byTest('channel-key').locator('textarea').inputValue()) === '', 'the edit form shows the key')
    check((await byTest('channel-base-url').locator('input').inputValue()) === FAKE, 'the edit form lost the base URL')
    check((await byTest('channel-api-version').count()) === 0, 'api-version shown for OpenAI')
    await byTest('channel-type').click()
    await page.locator('.n-base-select-option', { hasText: 'Azure OpenAI (3)' }).click()
    await byTest('channel-api-version').waitFor()
    await shot('05b-channel-edit-azure')
    await byTest('channel-editor').locator('.n-card-header__close').click()
    await byTest('channel-editor').waitFor({ state: 'hidden' })
    await row.locator('text=OpenAI').first().waitFor()
  })

  await step('copy a channel and see the copy', async () => {
    const row = page.locator('tr', { has: page.locator('[data-channel-name="fake-openai"]') })
    await row.locator('[data-test="channel-copy"]').click()
    const dialog = byTest('copy-dialog')
    check((await byTest('copy-suffix').locator('input').inputValue()) === '_copy', 'the suffix does not start as _copy')
    await byTest('copy-suffix').locator('input').fill('-copy')
    await byTest('copy-confirm').click()
    await toast('Copied as fake-openai-copy (#').waitFor()
    await dialog.waitFor({ state: 'hidden' })
    const copy = page.locator('tr', { has: page.locator('[data-channel-name="fake-openai-copy"]') })
    await copy.locator('[data-test="channel-copied"]').waitFor()
  })

  await step("fetch the provider's models into the copy's editor", async () => {
    const copy = page.locator('tr', { has: page.locator('[data-channel-name="fake-openai-copy"]') })
    await copy.locator('[data-test="channel-edit"]').click()
    await byTest('channel-editor').waitFor()
    await byTest('channel-fetch-models').click()
    const listed = byTest('fetched-models')
    await listed.waitFor()
    const names = await listed.locator('[data-model]').evaluateAll((boxes) => boxes.map((b) => b.getAttribute('data-model')))
    check(
      JSON.stringify(names) === JSON.stringify(['claude-sonnet-4-20250514', 'gpt-4o', 'gpt-4o-mini', 'text-embedding-3-small']),
      `fetched models: ${names}`,
    )
    await listed.locator('[data-model="text-embedding-3-small"]').click()
    await shot('05c-fetched-models')
    await byTest('fetched-use').filter({ hasText: 'Use 3 model(s)' }).click()
    await toast('Models set to the 3 picked').waitFor()
    await byTest('fetched-models').waitFor({ state: 'hidden' }) // the picker has closed
    await byTest('channel-save').click()
    await toast('Saved').waitFor({ timeout: 20_000 }) // a loaded CI box can take a while
    await byTest('channel-editor').waitFor({ state: 'hidden' })
    await page.waitForFunction(() => {
      const row = [...document.querySelectorAll('tr')].find((tr) => tr.querySelector('[data-channel-name="fake-openai-copy"]'))
      const text = row?.textContent ?? ''
      return text.includes('claude-sonnet-4-20250514,gpt-4o,gpt-4o-mini') && !text.includes('text-embedding')
    })
  })

  await step('test all channels in the background, then delete the copy', async () => {
    const copy = page.locator('tr', { has: page.locator('[data-channel-name="fake-openai-copy"]') })
    check((await copy.locator('[data-test="response-time"]').innerText()).trim() === '-', 'the copy kept a test result')
    await byTest('channel-test-all').click()
    await toast('Tested 2 channel(s)').waitFor({ timeout: 20_000 })
    await copy.locator('[data-test="response-time"]').filter({ hasText: /\d+(\.\d+)? m?s/ }).waitFor()
    await copy.getByRole('button', { name: 'Delete', exact: true }).click()
    await page.locator('.n-popconfirm__action button').last().click()
    await toast('Deleted').waitFor()
    await copy.waitFor({ state: 'detached' })
  })

  let fullKey = ''
  await step('create an API key and see it once', async () => {
    await nav('tokens')
    await page.waitForURL('**/console/token')
    await byTest('token-add').click()
    await byTest('token-name').locator('input').fill('e2e-key')
    await byTest('token-save').click()
    await byTest('token-created').waitFor()
    fullKey = (await byTest('token-full-key').innerText()).trim()
    check(/^sk-[A-Za-z0-9]{48}$/.test(fullKey), `the created key looks wrong: ${fullKey.slice(0, 6)}…`)
    await shot('06-token-created')
    await page.keyboard.press('Escape')
    await byTest('token-created').waitFor({ state: 'hidden' })
    const row = page.locator('tr', { has: page.locator('[data-token-name="e2e-key"]') })
    await row.waitFor()
    const masked = await row.locator('code').innerText()
    check(!masked.includes(fullKey.slice(3)), 'the list shows the whole key')
    await shot('07-tokens')
  })

  await step('chat in the playground and watch the answer stream', async () => {
    await nav('playground')
    await page.waitForURL('**/console/playground')
    await byTest('pg-token').filter({ hasText: 'e2e-key' }).waitFor()
    await byTest('pg-model').filter({ hasText: 'gpt-4o-mini' }).waitFor()
    await byTest('pg-input').locator('textarea').fill('Say hello')
    await byTest('pg-send').click()
    // Sample the partial answer while it streams: it must grow in several steps.
    const seen = await page.evaluate(async () => {
      const values = new Set()
      const deadline = Date.now() + 15000
      while (Date.now() < deadline) {
        const partial = document.querySelector('[data-test="pg-partial"]')
        if (partial && partial.textContent) values.add(partial.textContent)
        if (!document.querySelector('[data-test="pg-streaming"]') && values.size) break
        await new Promise((resolve) => setTimeout(resolve, 15))
      }
      return [...values]
    })
    check(seen.length >= 3, `the answer did not arrive in pieces: ${JSON.stringify(seen)}`)
    check(seen.every((piece) => TEXT.startsWith(piece)), `partial answers are not prefixes: ${JSON.stringify(seen)}`)
    const answer = page.locator('[data-role="assistant"]').last()
    await answer.filter({ hasText: TEXT }).waitFor()
    await byTest('pg-stats').waitFor()
    await shot('08-playground')
  })

  await step('see the request in the logs with its detail', async () => {
    await nav('logs')
    await page.waitForURL('**/console/log')
    // Usage is written in batches (BATCH_UPDATE_INTERVAL): search until the row is there.
    const row = page.locator('tr', { has: page.locator('[data-log-model="gpt-4o-mini"]') }).first()
    for (let attempt = 0; attempt < 20 && !(await row.isVisible()); attempt++) {
      await page.waitForTimeout(300)
      await byTest('log-search').click()
    }
    await row.waitFor()
    check((await row.innerText()).includes('e2e-key'), 'the log row does not name the key')
    await shot('09-logs')
    await row.locator('[data-test="log-detail"]').click()
    const detail = byTest('log-detail-body')
    await detail.waitFor()
    const text = await detail.innerText()
    check(text.includes('model 1') || text.includes('model '), `no ratios in the detail: ${text}`)
    check(/First byte\s+\d+ ms/.test(text), `no first-byte time in the detail: ${text}`)
    check((await byTest('log-stream-status').innerText()).includes('ok · done'), `no stream status in the detail: ${text}`)
    await shot('10-log-detail')
    await page.keyboard.press('Escape')
  })

  await step('error and manage logs have their own columns', async () => {
    // A client asks for a model no channel serves: the relay refuses it (503, before pricing) and writes an error log.
    const status = await page.evaluate(async (key) => {
      const response = await fetch('/v1/chat/completions', {
        method: 'POST',
        headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ model: 'zz-unserved-model', messages: [{ role: 'user', content: 'hi' }] }),
      })
      return response.status
    }, fullKey)
    check(status >= 400, `the unserved model was served (${status})`)
    await byTest('log-type').click()
    await page.locator('.n-base-select-option', { hasText: 'Error' }).click()
    const row = page.locator('tr', { has: page.locator('[data-log-model="zz-unserved-model"]') }).first()
    for (let attempt = 0; attempt < 20 && !(await row.isVisible()); attempt++) {
      await page.waitForTimeout(300)
      await byTest('log-search').click()
    }
    await row.waitFor()
    check((await row.locator('[data-test="log-status-code"]').innerText()).trim() === String(status), 'the error log has no status code')
    check((await row.innerText()).includes('model_not_found'), `no error code in the row: ${await row.innerText()}`)
    check((await row.locator('[data-test="log-message"]').innerText()).includes('zz-unserved-model'), 'no message in the row')
    check((await page.locator('[data-log-model="gpt-4o-mini"]').count()) === 0, 'consume logs listed under Error')
    await shot('10b-error-logs')
    await byTest('log-type').click()
    await page.locator('.n-base-select-option', { hasText: 'Manage' }).click()
    await page.locator('[data-test="log-action"]', { hasText: 'channel.keys' }).first().waitFor()
    await page.locator('[data-test="log-action"]', { hasText: 'channel.tag' }).first().waitFor()
    await shot('10c-manage-logs')
    await byTest('log-type').click()
    await page.locator('.n-base-select-option', { hasText: 'All' }).click()
  })

  await step('a Vertex AI channel: service accounts, per-model regions, kept on reopening', async () => {
    const account = (project) => ({
      type: 'service_account',
      project_id: project,
      private_key_id: 'e2e',
      private_key: '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n',
      client_email: `e2e@${project}.iam.gserviceaccount.com`,
    })
    const regions = { default: 'us-central1', 'gemini-2.5-pro': 'global', 'claude-sonnet-4-5': 'us-east5' }
    const same = (a, b) => JSON.stringify(a) === JSON.stringify(b)
    /** The channel as GET /api/channel/ lists it, and its stored key (POST /api/channel/:id/key, root only). */
    const stored = () =>
      page.evaluate(async () => {
        const headers = { 'New-Api-User': String(JSON.parse(localStorage.getItem('user')).id) }
        const list = await (await fetch('/api/channel/?p=1&page_size=100', { headers })).json()
        const channel = list.data.items.find((item) => item.name === 'vertex-sa')
        const revealed = await (await fetch(`/api/channel/${channel.id}/key`, { method: 'POST', headers })).json()
        return { channel, key: revealed.data?.key ?? `(refused: ${revealed.message})` }
      })
    const editor = byTest('channel-editor')
    const keyField = byTest('channel-key').locator('textarea')
    const regionJson = byTest('channel-region-json').locator('textarea')

    await nav('channels')
    await page.waitForURL('**/console/channel')
    await byTest('channel-add').click()
    await editor.waitFor()
    await byTest('channel-type').click()
    await page.locator('.n-base-select-option', { hasText: 'Vertex AI (41)' }).click()
    await page.locator('[data-key-type="json"].n-radio--checked').waitFor()
    await byTest('channel-name').locator('input').fill('vertex-sa')
    // A service account without client_email: the key field says so, inline.
    await keyField.fill(JSON.stringify({ ...account('e2e-one'), client_email: undefined }, null, 2))
    await editor.getByText('Account 1 lacks client_email').waitFor()
    await keyField.fill(`${JSON.stringify(account('e2e-one'))}\n${JSON.stringify(account('e2e-two'))}`)
    await byTest('channel-key-split').waitFor()
    // A bad region is refused in the browser, before any request.
    await byTest('channel-region').locator('input').fill('us central1')
    await editor.getByText('"us central1" is not a region name').waitFor()
    await byTest('channel-save').click()
    await toast('"us central1" is not a region name').waitFor()
    await byTest('channel-region').locator('input').fill('us-central1')
    await page.locator('[data-region-mode="models"]').click()
    check(same(JSON.parse(await regionJson.inputValue()), { default: 'us-central1' }), 'the region did not become the default')
    await regionJson.fill('{"gemini-2.5-pro": "global"}')
    await editor.getByText('The JSON needs a "default" region').waitFor()
    await regionJson.fill(JSON.stringify(regions, null, 2))
    await byTest('channel-models').click()
    for (const model of Object.keys(regions).slice(1)) {
      await page.keyboard.type(model)
      await page.keyboard.press('Enter')
    }
    await page.keyboard.press('Escape')
    await byTest('channel-vertex-key-type').scrollIntoViewIfNeeded()
    await shot('05d-vertex-editor')
    await byTest('channel-save').click()
    await toast('Channel created').waitFor()
    await editor.waitFor({ state: 'hidden' })
    const row = page.locator('tr', { has: page.locator('[data-channel-name="vertex-sa"]') })
    await row.getByText('2 keys').waitFor()

    const created = await stored()
    check(created.channel.type === 41, `type ${created.channel.type}`)
    check(JSON.parse(created.channel.settings).vertex_key_type === 'json', `settings ${created.channel.settings}`)
    check(same(JSON.parse(created.channel.other), regions), `other ${created.channel.other}`)
    check(created.channel.models === 'gemini-2.5-pro,claude-sonnet-4-5', `models ${created.channel.models}`)
    check(created.channel.channel_info.multi_key_size === 2, 'the two accounts are not two keys')
    check(!JSON.stringify(created.channel).includes('PRIVATE KEY'), 'the channel list shows a key')
    const keys = created.key.split('\n').map((line) => JSON.parse(line))
    check(same(keys, [account('e2e-one'), account('e2e-two')]), `stored key: ${created.key.slice(0, 80)}`)

    // Reopen: the key stays hidden, the key type and the region map come back; switch the key type.
    await row.locator('[data-test="channel-edit"]').click()
    await editor.waitFor()
    check((await keyField.inputValue()) === '', 'the edit form shows the service account')
    await page.locator('[data-key-type="json"].n-radio--checked').waitFor()
    await page.locator('[data-region-mode="models"].n-radio--checked').waitFor()
    check(same(JSON.parse(await regionJson.inputValue()), regions), 'the region map changed on reopening')
    await page.locator('[data-key-type="api_key"]').click()
    await byTest('channel-save').click()
    await toast('Saved').waitFor()
    await editor.waitFor({ state: 'hidden' })
    const edited = await stored()
    check(JSON.parse(edited.channel.settings).vertex_key_type === 'api_key', `settings ${edited.channel.settings}`)
    check(same(JSON.parse(edited.channel.other), regions), `other after the edit ${edited.channel.other}`)
    check(edited.key === created.key, 'an edit without a key changed the stored key')
    await row.locator('[data-test="channel-edit"]').click()
    await page.locator('[data-key-type="api_key"].n-radio--checked').waitFor()
    await editor.locator('.n-card-header__close').click()
    await editor.waitFor({ state: 'hidden' })

    await row.getByRole('button', { name: 'Delete', exact: true }).click()
    await page.locator('.n-popconfirm__action button').last().click()
    await toast('Deleted').waitFor()
    await row.waitFor({ state: 'detached' })
  })

  await step('the dashboard counts the request and draws the chart', async () => {
    await nav('dashboard')
    await page.waitForURL(/\/console$/)
    for (let attempt = 0; attempt < 20; attempt++) {
      const requests = (await byTest('dash-requests').innerText()).replace(/\D/g, '')
      if (Number(requests) >= 1) break
      await page.waitForTimeout(300)
      await page.reload()
    }
    check(Number((await byTest('dash-requests').innerText()).replace(/\D/g, '')) >= 1, 'the dashboard shows no request')
    await byTest('usage-chart').locator('canvas').first().waitFor()
    await byTest('user-chart').locator('canvas').first().waitFor()
    await page.locator('[data-user-rank="root"]').waitFor()
    await shot('11-dashboard')
  })

  await step('pricing lists the model the channel serves', async () => {
    await nav('pricing')
    await page.locator('[data-price-model="gpt-4o-mini"]').waitFor()
    await shot('12-pricing')
  })

  await step('change a ratio in settings (bad JSON is refused first)', async () => {
    await nav('settings')
    const editor = page.locator('[data-option="ModelRatio"] textarea')
    await page.waitForFunction(() => (document.querySelector('[data-option="ModelRatio"] textarea')?.value ?? '').length > 2)
    const ratios = JSON.parse(await editor.inputValue())
    check(typeof ratios === 'object' && Object.keys(ratios).length > 0, 'ModelRatio did not load')
    await editor.fill('{"gpt-4o-mini": ')
    await page.getByText('not valid JSON').first().waitFor()
    await editor.fill(JSON.stringify({ ...ratios, 'gpt-4o-mini': 10 }, null, 2))
    await byTest('save-ratios').click()
    await toast('Saved 1 setting').waitFor()
    await shot('13-settings')
  })

  await step('the next request is priced by the new ratio', async () => {
    await nav('playground')
    await byTest('pg-model').filter({ hasText: 'gpt-4o-mini' }).waitFor()
    await byTest('pg-input').locator('textarea').fill('Again, please')
    await byTest('pg-send').click()
    await page.locator('[data-role="assistant"]').nth(0).filter({ hasText: TEXT }).waitFor()
    await byTest('pg-stats').waitFor()
    await nav('logs')
    const rows = page.locator('tr', { has: page.locator('[data-log-model="gpt-4o-mini"]') })
    for (let attempt = 0; attempt < 20 && (await rows.count()) < 2; attempt++) {
      await page.waitForTimeout(300)
      await byTest('log-search').click()
    }
    check((await rows.count()) === 2, 'the second request is not in the logs')
    await rows.first().locator('[data-test="log-detail"]').click()
    const text = await byTest('log-detail-body').innerText()
    const completion = Number(/completion (\d+(\.\d+)?)/.exec(text)?.[1])
    check(/model 10\b/.test(text) && completion > 0, `the new ratio is not in the detail: ${text}`)
    const quota = Math.round((10 + 20 * completion) * 10)
    const usd = `$${(quota / 500000).toFixed(6).replace(/0+$/, '')}`
    check(text.includes(usd), `the cost is not ${usd} (10 prompt + 20 completion tokens at ratio 10): ${text}`)
    await shot('14-log-repriced')
    await page.keyboard.press('Escape')
  })

  let code = ''
  await step('create a user and a redemption code', async () => {
    await nav('users')
    await page.locator('[data-user-name="root"]').waitFor()
    await byTest('user-add').click()
    await byTest('user-username').locator('input').fill('alice')
    await byTest('user-password').locator('input').fill('alice-password-1')
    await byTest('user-save').click()
    await toast('User created').waitFor()
    await page.locator('[data-user-name="alice"]').waitFor()
    await shot('15-users')
    await nav('redemptions')
    await byTest('red-add').click()
    await byTest('red-name').locator('input').fill('welcome')
    await byTest('red-quota').locator('input').fill('5')
    await byTest('red-save').click()
    code = (await byTest('red-codes').innerText()).trim()
    check(/^[0-9a-f]{32}$/i.test(code), `unexpected code: ${code}`)
    await shot('16-redemption-created')
    await page.keyboard.press('Escape')
  })

  await step('redeem the code on the profile page', async () => {
    await nav('profile')
    await byTest('profile-info').filter({ hasText: '$200.00' }).waitFor()
    await byTest('redeem-code').locator('input').fill(code)
    await byTest('redeem-submit').click()
    await toast('Redeemed: $5.00 added').waitFor()
    await byTest('profile-info').filter({ hasText: '$205.00' }).waitFor()
    await byTest('redeem-code').locator('input').fill(code)
    await byTest('redeem-submit').click()
    await page.locator('.n-message--error-type').last().waitFor()
    await shot('17-profile')
  })

  await step('phone width: menu drawer and pages fit', async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    await page.goto(BASE + '/console/channel')
    await byTest('menu').click()
    await page.locator('.n-drawer [data-nav="tokens"]').waitFor()
    await shot('18-phone-menu')
    await page.locator('.n-drawer [data-nav="channels"]').click()
    await page.locator('.n-drawer-mask').waitFor({ state: 'detached' })
    await page.locator('[data-channel-name="fake-openai"]').waitFor()
    await shot('19-phone-channels')
    await page.setViewportSize({ width: 1366, height: 860 })
  })

  await step('log out', async () => {
    await page.goto(BASE + '/console')
    await byTest('logout').click()
    await page.waitForURL('**/login')
    await page.goto(BASE + '/console/token')
    await page.waitForURL(/\/login\?redirect=%2Fconsole%2Ftoken|\/login\?redirect=\/console\/token/)
  })

  await step('a registered user sees only their own pages', async () => {
    await page.goto(BASE + '/login')
    await page.getByRole('link', { name: 'Create an account' }).click()
    await page.waitForURL('**/register')
    await byTest('login-username').locator('input').fill('bob')
    await byTest('login-password').locator('input').fill('bob-password-1')
    await byTest('login-submit').click()
    await toast('Account created').waitFor()
    await page.waitForURL('**/login?username=bob')
    await byTest('login-password').locator('input').fill('bob-password-1')
    await byTest('login-submit').click()
    await page.waitForURL(/\/console$/)
    await page.locator('[data-nav="tokens"]').waitFor()
    check((await page.locator('[data-nav="channels"], [data-nav="users"], [data-nav="settings"]').count()) === 0, 'a user sees admin pages')
    await byTest('dash-requests').waitFor()
    await nav('logs')
    await byTest('log-stat').waitFor()
    check((await page.locator('[data-log-model]').count()) === 0, "a user sees other users' requests")
    await page.goto(BASE + '/console/channel')
    await page.waitForURL(/\/console$/)
    check((await page.locator('.n-message--error-type').count()) === 0, 'a user page showed an error')
    await shot('20-user-dashboard')
  })

  check(consoleErrors.length === 0, `page errors: ${consoleErrors.join('\n')}`)
  console.log(`passed: ${Date.now() - started} ms in the browser`)
} catch (error) {
  console.error(`FAILED at step "${current}": ${error?.stack ?? error}`)
  await shot('failure').catch(() => undefined)
  const toasts = await page.locator('.n-message').allInnerTexts().catch(() => [])
  console.error(`messages on screen: ${JSON.stringify(toasts)}`)
  process.exitCode = 1
} finally {
  await browser.close()
}
