// Gemini and Vertex AI channels: the pure helpers (service accounts, regions, settings) and the
// editor's inline errors, with fetch stubbed.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { defineComponent, h } from 'vue'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { NMessageProvider } from 'naive-ui'
import ChannelEditor from '../src/components/ChannelEditor.vue'
import {
  GEMINI,
  VERTEX_AI,
  parseServiceAccounts,
  regionModeOf,
  serviceAccountKey,
  settingsFor,
  switchRegionMode,
  vertexKeyTypeOf,
  vertexRegionProblem,
} from '../src/lib/google'
import {
  channelFormErrors,
  channelToForm,
  createRequest,
  emptyChannelForm,
  firstKey,
  formToChannel,
  keyCount,
  keyProblem,
  type Channel,
  type ChannelForm,
} from '../src/lib/channels'

const account = (project: string, over: Record<string, unknown> = {}) => ({
  type: 'service_account',
  project_id: project,
  private_key_id: 'k1',
  private_key: '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n',
  client_email: `bot@${project}.iam.gserviceaccount.com`,
  ...over,
})
const compact = (value: unknown) => JSON.stringify(value)
const REGIONS = '{"default": "us-central1", "gemini-2.5-pro": "global", "claude-sonnet-4-5": "us-east5"}'

describe('service-account keys', () => {
  it('reads one file (pretty-printed), an array, or one JSON per line', () => {
    const one = parseServiceAccounts(JSON.stringify(account('p1'), null, 2))
    expect(one).toEqual({ accounts: [compact(account('p1'))], problem: null })
    const array = parseServiceAccounts(JSON.stringify([account('p1'), account('p2')], null, 2))
    expect(array.accounts).toEqual([compact(account('p1')), compact(account('p2'))])
    const lines = parseServiceAccounts(`${compact(account('p1'))}\n\n${compact(account('p2'))}\n${compact(account('p1'))}`)
    expect(lines).toEqual({ accounts: [compact(account('p1')), compact(account('p2'))], problem: null })
    expect(parseServiceAccounts('  ')).toEqual({ accounts: [], problem: null })
  })

  it('says what is wrong, and with which account', () => {
    expect(parseServiceAccounts('{"type": "service_account",').problem).toEqual({ key: 'ch.saNotJson' })
    expect(parseServiceAccounts('{\n"type": 1\n}\n{').problem).toEqual({ key: 'ch.saNotJson' })
    expect(parseServiceAccounts(`${compact(account('p1'))}\nnot json`).problem).toEqual({ key: 'ch.saLineNotJson', params: { line: 2 } })
    expect(parseServiceAccounts('[]').problem).toEqual({ key: 'ch.saEmpty' })
    expect(parseServiceAccounts('"AIza-key"').problem).toEqual({ key: 'ch.saNotObject', params: { n: 1 } })
    const user = account('p1', { type: 'authorized_user' })
    expect(parseServiceAccounts(compact(user)).problem).toEqual({ key: 'ch.saNotServiceAccount', params: { n: 1 } })
    const bad = account('p2', { private_key: '', client_email: undefined })
    expect(parseServiceAccounts(compact([account('p1'), bad])).problem).toEqual({
      key: 'ch.saMissing',
      params: { n: 2, fields: 'private_key, client_email' },
    })
    expect(parseServiceAccounts(compact(account(''))).problem).toMatchObject({ params: { fields: 'project_id' } })
  })

  it('sends several accounts as a JSON array when creating, one per line when editing', () => {
    const accounts = [compact(account('p1')), compact(account('p2'))]
    expect(JSON.parse(serviceAccountKey(accounts, true))).toEqual([account('p1'), account('p2')])
    expect(serviceAccountKey(accounts, false).split('\n').map((line) => JSON.parse(line))).toEqual([account('p1'), account('p2')])
    expect(serviceAccountKey(accounts.slice(0, 1), true)).toBe(accounts[0])
    expect(serviceAccountKey([], true)).toBe('')
  })
})

describe('Vertex AI regions', () => {
  it('takes a region name or a JSON object with "default"', () => {
    expect(vertexRegionProblem('us-central1')).toBeNull()
    expect(vertexRegionProblem(' global ')).toBeNull()
    expect(vertexRegionProblem(REGIONS)).toBeNull()
    expect(vertexRegionProblem('')).toEqual({ key: 'ch.regionEmpty' })
    expect(vertexRegionProblem('us central1')).toEqual({ key: 'ch.regionBadName', params: { region: 'us central1' } })
    expect(vertexRegionProblem('{"default": "us-central1",')).toEqual({ key: 'ch.regionNotJson' })
    expect(vertexRegionProblem('{"gemini-2.5-pro": "global"}')).toEqual({ key: 'ch.regionNoDefault' })
    expect(vertexRegionProblem('{"default": "us-central1", "m": 5}')).toEqual({ key: 'ch.regionBadModel', params: { model: 'm' } })
    expect(vertexRegionProblem('{"default": ""}')).toEqual({ key: 'ch.regionBadModel', params: { model: 'default' } })
  })

  it('switches between one region and the per-model JSON', () => {
    expect(regionModeOf(REGIONS)).toBe('models')
    expect(regionModeOf('global')).toBe('plain')
    expect(JSON.parse(switchRegionMode('europe-west4', 'models'))).toEqual({ default: 'europe-west4' })
    expect(JSON.parse(switchRegionMode('', 'models'))).toEqual({ default: 'us-central1' })
    expect(switchRegionMode(REGIONS, 'plain')).toBe('us-central1')
    expect(switchRegionMode('{broken', 'plain')).toBe('')
    expect(switchRegionMode(REGIONS, 'models')).toBe(REGIONS)
  })
})

describe('settings.vertex_key_type', () => {
  it('reads "json" unless the settings say "api_key"', () => {
    expect(vertexKeyTypeOf(null)).toBe('json')
    expect(vertexKeyTypeOf('')).toBe('json')
    expect(vertexKeyTypeOf('not json')).toBe('json')
    expect(vertexKeyTypeOf('{"vertex_key_type": "api_key"}')).toBe('api_key')
  })

  it('keeps the other settings and drops a stale key type', () => {
    expect(JSON.parse(settingsFor('{"claude_beta_query": true}', VERTEX_AI, 'api_key')!)).toEqual({ claude_beta_query: true, vertex_key_type: 'api_key' })
    expect(JSON.parse(settingsFor('', VERTEX_AI, 'json')!)).toEqual({ vertex_key_type: 'json' })
    expect(JSON.parse(settingsFor('{"vertex_key_type": "json", "x": 1}', GEMINI, 'json')!)).toEqual({ x: 1 })
    expect(settingsFor('{"x": 1}', 1, 'json')).toBeNull()
  })
})

describe('Gemini and Vertex AI channel forms', () => {
  const base = (over: Partial<ChannelForm> = {}): ChannelForm => ({ ...emptyChannelForm(), name: 'g', models: ['gemini-2.5-pro'], ...over })

  it('Gemini: the API version goes to `other`', () => {
    const body = formToChannel(base({ type: GEMINI, key: 'AIza-1', apiVersion: ' v1 ' }))
    expect(body).toMatchObject({ type: 24, other: 'v1', key: 'AIza-1' })
    expect(body).not.toHaveProperty('settings')
    const channel = { id: 3, type: GEMINI, name: 'g', status: 1, weight: 1, priority: 0, base_url: '', other: 'v1beta', models: 'm', group: 'default', model_mapping: null, test_model: null, tag: null, remark: null, response_time: 0, test_time: 0, balance: 0, used_quota: 0, auto_ban: 1 } satisfies Channel
    expect(channelToForm(channel)).toMatchObject({ apiVersion: 'v1beta', region: '' })
  })

  it('Vertex AI: one account, region map and key type in settings', () => {
    const form = base({ type: VERTEX_AI, key: JSON.stringify(account('p1'), null, 2), region: REGIONS, regionMode: 'models' })
    expect(channelFormErrors(form)).toEqual([])
    const request = createRequest(form)
    expect(request).toMatchObject({ mode: 'single', channel: { type: 41, other: REGIONS, key: compact(account('p1')) } })
    expect(JSON.parse((request.channel as { settings: string }).settings)).toEqual({ vertex_key_type: 'json' })
  })

  it('Vertex AI: several accounts make a multi-key channel from a JSON array', () => {
    const form = base({ type: VERTEX_AI, key: `${compact(account('p1'))}\n${compact(account('p2'))}`, region: 'global' })
    expect(keyCount(form)).toBe(2)
    // Fetch models sends the first account, not the first line of a pretty-printed file.
    expect(firstKey(form)).toBe(compact(account('p1')))
    expect(firstKey({ ...form, key: JSON.stringify(account('p2'), null, 2) })).toBe(compact(account('p2')))
    expect(firstKey({ ...form, vertexKeyType: 'api_key', key: 'AIza-1\n' })).toBe('AIza-1')
    const request = createRequest(form)
    expect(request).toMatchObject({ mode: 'multi_to_single', multi_key_mode: 'random' })
    expect(JSON.parse((request.channel as { key: string }).key)).toHaveLength(2)
  })

  it('Vertex AI: bad keys and regions block saving', () => {
    const form = base({ type: VERTEX_AI, key: '{"type": "service_account"}', region: '' })
    expect(channelFormErrors(form)).toEqual(['key', 'region'])
    expect(keyProblem(form)).toEqual({ key: 'ch.saMissing', params: { n: 1, fields: 'project_id, private_key, client_email' } })
    const apiKeys = base({ type: VERTEX_AI, vertexKeyType: 'api_key', key: 'AIza-1\nAIza-2', region: 'global' })
    expect(keyProblem(apiKeys)).toEqual({ key: 'ch.vertexOneApiKey' })
    expect(keyProblem({ ...apiKeys, key: 'AIza-1' })).toBeNull()
    const twoOnSingle = base({ type: VERTEX_AI, id: 5, key: compact([account('p1'), account('p2')]), region: 'global' })
    expect(keyProblem(twoOnSingle)).toEqual({ key: 'ch.saOneOnEdit' })
    expect(keyProblem({ ...twoOnSingle, multiKeySize: 2 })).toBeNull()
    // Another type takes any key text: the check is Vertex AI's only.
    expect(keyProblem(base({ type: 1, key: '{"type": 1}' }))).toBeNull()
  })

  it('Vertex AI: an edit keeps the stored key and settings; accounts added one per line', () => {
    const channel = { id: 8, type: VERTEX_AI, name: 'v', status: 1, weight: 1, priority: 0, base_url: '', other: REGIONS, models: 'gemini-2.5-pro', group: 'default', model_mapping: null, test_model: null, tag: null, remark: null, response_time: 0, test_time: 0, balance: 0, used_quota: 0, auto_ban: 1, settings: '{"vertex_key_type": "api_key", "keep": 1}', channel_info: { is_multi_key: true, multi_key_size: 2 } } satisfies Channel
    const form = channelToForm(channel)
    expect(form).toMatchObject({ key: '', region: REGIONS, regionMode: 'models', vertexKeyType: 'api_key', apiVersion: '' })
    const edit = formToChannel(form)
    expect(edit).not.toHaveProperty('key')
    expect(JSON.parse(edit.settings as string)).toEqual({ vertex_key_type: 'api_key', keep: 1 })
    const added = formToChannel({ ...form, vertexKeyType: 'json', key: compact([account('p3'), account('p4')]) })
    expect((added.key as string).split('\n').map((line) => JSON.parse(line).project_id)).toEqual(['p3', 'p4'])
    expect(added).toMatchObject({ key_mode: 'append' })
  })
})

describe('channel editor: Vertex AI fields', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    vi.stubGlobal('matchMedia', (query: string) => ({ matches: false, media: query, addEventListener() {}, removeEventListener() {} }))
  })
  afterEach(() => {
    vi.unstubAllGlobals()
    document.body.innerHTML = ''
  })

  function fakeServer() {
    const calls: { method: string; url: string; body: unknown }[] = []
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string, init: RequestInit) => {
        calls.push({ method: init.method ?? 'GET', url, body: init.body ? JSON.parse(String(init.body)) : undefined })
        if (url === '/api/group/') return Response.json({ success: true, data: ['default'] })
        if (url === '/api/models') return Response.json({ success: true, data: {} })
        return Response.json({ success: true, data: null })
      }),
    )
    return calls
  }
  const field = (test: string) => document.querySelector<HTMLTextAreaElement | HTMLInputElement>(`[data-test="${test}"] textarea, [data-test="${test}"] input`)!
  async function type(test: string, text: string) {
    const input = field(test)
    input.value = text
    input.dispatchEvent(new Event('input'))
    await flushPromises()
  }
  const itemOf = (test: string) => document.querySelector(`[data-test="${test}"]`)!.closest('.n-form-item')!

  it('Gemini: the API version field and the default host, no Vertex fields', async () => {
    const calls = fakeServer()
    const form = { ...emptyChannelForm(), type: GEMINI, name: 'gm', models: ['gemini-2.5-pro'], key: 'AIza-test' }
    const Host = defineComponent(() => () => h(NMessageProvider, () => h(ChannelEditor, { show: true, form })))
    const wrapper = mount(Host, { attachTo: document.body })
    await flushPromises()
    expect(document.querySelector('[data-test="channel-vertex-key-type"]')).toBeNull()
    expect(document.querySelector('[data-test="channel-region"]')).toBeNull()
    expect(itemOf('channel-base-url').textContent).toContain('https://generativelanguage.googleapis.com')
    await type('channel-gemini-version', 'v1')
    document.querySelector<HTMLElement>('[data-test="channel-save"]')!.click()
    await flushPromises()
    const posted = calls.filter((call) => call.method === 'POST')
    expect(posted[0]!.body).toMatchObject({ mode: 'single', channel: { type: 24, other: 'v1', key: 'AIza-test' } })
    wrapper.unmount()
  })

  it('shows inline errors, refuses to save them, then sends the fixed channel', async () => {
    const calls = fakeServer()
    const form = { ...emptyChannelForm(), type: VERTEX_AI, name: 'vx', models: ['gemini-2.5-pro'] }
    const Host = defineComponent(() => () => h(NMessageProvider, () => h(ChannelEditor, { show: true, form })))
    const wrapper = mount(Host, { attachTo: document.body })
    await flushPromises()
    expect(document.querySelector('[data-test="channel-api-version"]')).toBeNull()
    await type('channel-key', '{"type": "service_account", "project_id": "p"}')
    await type('channel-region', 'us central')
    expect(itemOf('channel-key').textContent).toContain('Account 1 lacks private_key, client_email')
    expect(itemOf('channel-region').textContent).toContain('"us central" is not a region name')
    document.querySelector<HTMLElement>('[data-test="channel-save"]')!.click()
    await flushPromises()
    expect(calls.filter((call) => call.method === 'POST')).toEqual([])

    document.querySelector<HTMLElement>('[data-region-mode="models"] input')!.click()
    await flushPromises()
    await type('channel-region-json', '{"gemini-2.5-pro": "global"}')
    expect(itemOf('channel-region-json').textContent).toContain('The JSON needs a "default" region')
    await type('channel-region-json', REGIONS)
    await type('channel-key', JSON.stringify(account('p1'), null, 2))
    expect(itemOf('channel-key').textContent).toContain('Paste the service-account JSON file')
    document.querySelector<HTMLElement>('[data-test="channel-save"]')!.click()
    await flushPromises()
    const posted = calls.filter((call) => call.method === 'POST')
    expect(posted).toHaveLength(1)
    expect(posted[0]!.body).toMatchObject({ mode: 'single', channel: { type: 41, other: REGIONS, key: compact(account('p1')), settings: '{"vertex_key_type":"json"}' } })
    wrapper.unmount()
  })
})
