import { describe, expect, it } from 'vitest'
import { formatLatency, formatQuota, formatTime, splitList, usdToQuota } from '../src/lib/format'
import { AZURE, channelFormErrors, channelToForm, emptyChannelForm, formToChannel, modelMappingError, type Channel } from '../src/lib/channels'
import { emptyTokenForm, formToToken, fullKey, tokenState, tokenToForm, type Token } from '../src/lib/tokens'
import { bucketFor, buildSeries, totals } from '../src/lib/series'
import { logDetail, retries, type LogRow } from '../src/lib/logs'

describe('format', () => {
  it('shows quota as dollars at 500 000 per dollar', () => {
    expect(formatQuota(500_000)).toBe('$1.00')
    expect(formatQuota(1_250)).toBe('$0.0025')
    expect(formatQuota(0)).toBe('$0')
    expect(formatQuota(250_000)).toBe('$0.50')
    expect(formatQuota(1)).toBe('$0.000002')
    expect(formatQuota(1_000, 1_000)).toBe('$1.00')
    expect(usdToQuota(2.5)).toBe(1_250_000)
  })

  it('formats times, latencies and lists', () => {
    expect(formatTime(0, 'never')).toBe('never')
    expect(formatTime(1_700_000_000)).toMatch(/^2023-11-1\d \d\d:\d\d:\d\d$/)
    expect(formatLatency(0)).toBe('-')
    expect(formatLatency(250)).toBe('250 ms')
    expect(formatLatency(1500)).toBe('1.50 s')
    expect(splitList(' a, b\n a ,,c ')).toEqual(['a', 'b', 'c'])
  })
})

describe('channel form', () => {
  it('checks model mapping JSON', () => {
    expect(modelMappingError('')).toBeNull()
    expect(modelMappingError('{"a": "b"}')).toBeNull()
    expect(modelMappingError('{')).toContain('not valid JSON')
    expect(modelMappingError('["a"]')).toContain('JSON object')
    expect(modelMappingError('{"a": 1}')).toContain('"a"')
  })

  it('lists missing fields; Azure needs a base URL; edits may keep the key', () => {
    const form = emptyChannelForm()
    expect(channelFormErrors(form)).toEqual(['name', 'key', 'models'])
    Object.assign(form, { name: 'n', key: 'k', models: ['m'], type: AZURE })
    expect(channelFormErrors(form)).toEqual(['baseUrl'])
    Object.assign(form, { id: 4, key: '', type: 1 })
    expect(channelFormErrors(form)).toEqual([])
  })

  it('builds the API body; the Azure api-version goes to `other`; no key means keep it', () => {
    const form = { ...emptyChannelForm(), name: ' az ', key: 'k1', models: ['gpt-4o', 'gpt-4o-mini'], groups: ['default', 'vip'], type: AZURE, baseUrl: 'https://x.openai.azure.com', apiVersion: '2024-10-21' }
    const body = formToChannel(form)
    expect(body).toMatchObject({ name: 'az', key: 'k1', models: 'gpt-4o,gpt-4o-mini', group: 'default,vip', other: '2024-10-21', type: 3 })
    expect(body).not.toHaveProperty('id')
    const edit = formToChannel({ ...form, id: 9, key: '', type: 1 })
    expect(edit).not.toHaveProperty('key')
    expect(edit).toMatchObject({ id: 9, other: '' })
  })

  it('reads a channel into the form', () => {
    const channel = { id: 2, type: AZURE, name: 'a', status: 1, weight: null, priority: 5, base_url: 'https://a', other: '2024-10-21', models: 'm1,m2', group: 'default', model_mapping: '{"x":"y"}', test_model: null, tag: null, remark: null, response_time: 0, test_time: 0, balance: 0, used_quota: 0, auto_ban: 0 } satisfies Channel
    expect(channelToForm(channel)).toMatchObject({ id: 2, apiVersion: '2024-10-21', models: ['m1', 'm2'], weight: 0, priority: 5, autoBan: false, key: '' })
  })
})

describe('token form', () => {
  const token: Token = { id: 5, name: 'k', key: 'abcd**********wxyz', status: 1, created_time: 1, accessed_time: 1, expired_time: -1, remain_quota: 1_000_000, unlimited_quota: false, used_quota: 0, model_limits_enabled: true, model_limits: 'a,b', allow_ips: '1.2.3.4\n10.0.0.0/8', group: '' }

  it('round-trips quota in dollars, limits as a comma list and IPs one per line', () => {
    const form = tokenToForm(token)
    expect(form).toMatchObject({ quotaUsd: 2, modelLimits: ['a', 'b'], expiresAt: null, unlimited: false })
    expect(formToToken(form)).toMatchObject({ id: 5, remain_quota: 1_000_000, model_limits_enabled: true, model_limits: 'a,b', allow_ips: '1.2.3.4\n10.0.0.0/8', expired_time: -1 })
  })

  it('sends no quota for unlimited keys and no limits when none are picked', () => {
    const body = formToToken({ ...emptyTokenForm(), name: 'x', expiresAt: 2_000_000_000 })
    expect(body).toMatchObject({ unlimited_quota: true, remain_quota: 0, model_limits_enabled: false, model_limits: '', expired_time: 2_000_000_000 })
  })

  it('derives the shown state', () => {
    expect(tokenState(token, 10)).toBe('enabled')
    expect(tokenState({ ...token, status: 2 }, 10)).toBe('disabled')
    expect(tokenState({ ...token, expired_time: 5 }, 10)).toBe('expired')
    expect(tokenState({ ...token, remain_quota: 0 }, 10)).toBe('exhausted')
    expect(tokenState({ ...token, remain_quota: 0, unlimited_quota: true }, 10)).toBe('enabled')
    expect(fullKey('abc')).toBe('sk-abc')
    expect(fullKey('sk-abc')).toBe('sk-abc')
  })
})

describe('dashboard series', () => {
  const rows = [
    { model_name: 'a', created_at: 3600, token_used: 10, count: 1, quota: 100 },
    { model_name: 'b', created_at: 3600, token_used: 5, count: 2, quota: 300 },
    { model_name: 'a', created_at: 7200, token_used: 7, count: 1, quota: 50 },
    { model_name: 'a', created_at: 7300, token_used: 1, count: 1, quota: 1 },
  ]

  it('aligns models on shared hourly buckets, biggest model first', () => {
    const series = buildSeries(rows, 'quota', 3600)
    expect(series.times).toEqual([3600, 7200])
    expect(series.models).toEqual([
      { name: 'b', values: [300, 0] },
      { name: 'a', values: [100, 51] },
    ])
    expect(buildSeries(rows, 'count', 3600).models.find((m) => m.name === 'a')?.values).toEqual([1, 2])
  })

  it('picks hours up to three days, then days; sums totals', () => {
    expect(bucketFor(86400)).toBe(3600)
    expect(bucketFor(7 * 86400)).toBe(86400)
    expect(totals(rows)).toEqual({ quota: 451, count: 5, tokens: 23 })
    expect(buildSeries([], 'quota', 3600)).toEqual({ times: [], models: [] })
  })
})

describe('log detail', () => {
  const row = { other: JSON.stringify({ model_ratio: 2.5, completion_ratio: 4, group_ratio: 1, cache_ratio: 0.1, model_price: -1, cache_tokens: 3, frt: 120, admin_info: { use_channel: [4, 7] }, upstream_model_name: 'up' }) } as LogRow

  it('reads ratios, cache, first byte and retries from `other`', () => {
    const detail = logDetail(row)
    expect(detail).toMatchObject({ modelRatio: 2.5, completionRatio: 4, modelPrice: null, cacheTokens: 3, firstByteMs: 120, channelsTried: [4, 7], upstreamModel: 'up' })
    expect(retries(detail)).toBe(1)
  })

  it('tolerates an empty or broken `other`', () => {
    expect(logDetail({ other: '' } as LogRow).channelsTried).toEqual([])
    expect(logDetail({ other: '{oops' } as LogRow).modelRatio).toBeNull()
    expect(retries(logDetail({ other: '' } as LogRow))).toBe(0)
  })
})

describe('dashboard series over a range', () => {
  it('puts every bucket of the range on the axis, zero where nothing was used', () => {
    const rows = [{ model_name: 'a', created_at: 7300, token_used: 1, count: 1, quota: 9 }]
    const series = buildSeries(rows, 'quota', 3600, [3600, 4 * 3600])
    expect(series.times).toEqual([3600, 7200, 10800, 14400])
    expect(series.models).toEqual([{ name: 'a', values: [0, 9, 0, 0] }])
    expect(buildSeries([], 'quota', 3600, [0, 86400]).times).toEqual([])
  })
})

import { SECTIONS, changedKeys, displayValue, optionError, pricePerMillion, storedValue } from '../src/lib/options'

describe('settings', () => {
  it('checks each kind of option', () => {
    expect(optionError('bool', 'true')).toBeNull()
    expect(optionError('bool', 'yes')).toContain('true or false')
    expect(optionError('int', '12')).toBeNull()
    expect(optionError('int', '1.5')).toContain('whole number')
    expect(optionError('float', '0.5')).toBeNull()
    expect(optionError('float', 'x')).toContain('number')
    expect(optionError('ratios', '{"a": 1.5}')).toBeNull()
    expect(optionError('ratios', '{"a": "1"}')).toContain('"a"')
    expect(optionError('ratios', '{"a": -1}')).toContain('"a"')
    expect(optionError('ratios', '[1]')).toContain('JSON object')
    expect(optionError('json', '{"default": "默认"}')).toBeNull()
    expect(optionError('json', '{')).toContain('not valid JSON')
  })

  it('finds what changed, ignoring JSON formatting', () => {
    const fields = SECTIONS.find((s) => s.id === 'ratios')!.fields
    const stored = { ModelRatio: '{"a":1}', GroupRatio: '{"default":1}' }
    const edited = { ModelRatio: displayValue('ratios', stored.ModelRatio), GroupRatio: '{"default": 2}' }
    expect(edited.ModelRatio).toBe('{\n  "a": 1\n}')
    expect(changedKeys(fields, stored, edited)).toEqual(['GroupRatio'])
    expect(storedValue('ratios', edited.GroupRatio)).toBe('{"default":2}')
    expect(changedKeys(fields, stored, { ...edited, ModelRatio: '{oops' })).toEqual(['ModelRatio', 'GroupRatio'])
  })

  it('prices text models per million tokens like new-api', () => {
    expect(pricePerMillion(0.075)).toBeCloseTo(0.15)
    expect(pricePerMillion(0.075, 1, 4)).toBeCloseTo(0.6)
    expect(pricePerMillion(1, 0.5)).toBe(1)
  })
})

import { createRequest, splitKeys } from '../src/lib/channels'

describe('channel keys', () => {
  const base = { ...emptyChannelForm(), name: 'c', models: ['m'] }

  it('one key is a single channel', () => {
    expect(createRequest({ ...base, key: 'sk-1\n' })).toMatchObject({ mode: 'single', channel: { key: 'sk-1' } })
  })

  it('several keys make one multi-key channel, or one channel per key', () => {
    expect(splitKeys(' a \n\nb\na\n')).toEqual(['a', 'b'])
    const multi = createRequest({ ...base, key: 'a\nb', multiKeyMode: 'polling' })
    expect(multi).toMatchObject({ mode: 'multi_to_single', multi_key_mode: 'polling' })
    const batch = createRequest({ ...base, key: 'a\nb', keySplit: 'batch' })
    expect(batch.mode).toBe('batch')
    expect(batch).not.toHaveProperty('multi_key_mode')
  })

  it('editing a multi-key channel says whether typed keys are added or replace', () => {
    const edit = { ...base, id: 3, multiKeySize: 2, keyEdit: 'replace' as const, multiKeyMode: 'random' as const }
    expect(formToChannel({ ...edit, key: 'c' })).toMatchObject({ key: 'c', key_mode: 'replace', multi_key_mode: 'random' })
    expect(formToChannel(edit)).not.toHaveProperty('key_mode')
    expect(formToChannel({ ...base, id: 4, key: 'k' })).not.toHaveProperty('key_mode')
  })
})
