import { describe, expect, it } from 'vitest'
import { errorInfo, formatParams, logColumns, manageInfo, multiKeyIndex, streamStatus, type LogRow } from '../src/lib/logs'
import { buildSeries, ranking, topSeries, type QuotaDataRow } from '../src/lib/series'

const row = (other: unknown) => ({ other: typeof other === 'string' ? other : JSON.stringify(other) }) as LogRow

describe('error and manage logs', () => {
  it('reads an error log', () => {
    expect(errorInfo(row({ status_code: 429, error_code: 'model_rate_limited', error_type: 'new_api_error' }))).toEqual({
      statusCode: 429,
      errorCode: 'model_rate_limited',
      errorType: 'new_api_error',
    })
    expect(errorInfo(row({ error_code: 500 })).errorCode).toBe('500')
    expect(errorInfo(row(''))).toEqual({ statusCode: null, errorCode: null, errorType: null })
  })

  it('reads a manage log', () => {
    const info = manageInfo(row({ op: { action: 'channel.update', params: { id: 4, fields: ['name'] } }, admin_info: { admin_username: 'root' } }))
    expect(info).toEqual({ action: 'channel.update', params: { id: 4, fields: ['name'] }, admin: 'root' })
    expect(formatParams(info.params)).toBe('id=4, fields=["name"]')
    expect(manageInfo(row({ op: { params: [1] } }))).toEqual({ action: null, params: {}, admin: null })
  })

  it('reads the stream status and the key used (admin fields)', () => {
    const other = { stream_status: { status: 'error', end_reason: 'upstream_closed', end_error: 'connection reset' }, admin_info: { multi_key_index: 2 } }
    expect(streamStatus(row(other))).toEqual({ status: 'error', endReason: 'upstream_closed', endError: 'connection reset' })
    expect(streamStatus(row({ stream_status: { status: 'ok', end_reason: 'done' } }))).toEqual({ status: 'ok', endReason: 'done', endError: null })
    expect(multiKeyIndex(row(other))).toBe(2)
    expect(multiKeyIndex(row({ admin_info: { multi_key_index: 0 } }))).toBe(0)
    expect(streamStatus(row({}))).toBeNull()
    expect(multiKeyIndex(row({ admin_info: { use_channel: [1] } }))).toBeNull()
  })

  it('picks columns per log type and role', () => {
    expect(logColumns(5, true)).toEqual(['time', 'user', 'channel', 'token', 'model', 'statusCode', 'errorCode', 'errorType', 'message', 'detail'])
    expect(logColumns(5, false)).not.toContain('user')
    expect(logColumns(3, true)).toEqual(['time', 'user', 'action', 'content', 'ip', 'detail'])
    expect(logColumns(2, false)).toContain('prompt')
    expect(logColumns(0, true)).toEqual(expect.arrayContaining(['type', 'channel', 'quota']))
    expect(logColumns(1, false)).toEqual(['time', 'content', 'quota', 'detail'])
  })
})

describe('usage per user', () => {
  const rows: QuotaDataRow[] = [
    { model_name: '', username: 'ann', created_at: 3600, token_used: 10, count: 2, quota: 100 },
    { model_name: '', username: 'bob', created_at: 3600, token_used: 50, count: 1, quota: 300 },
    { model_name: '', username: 'ann', created_at: 7200, token_used: 5, count: 1, quota: 250 },
    { model_name: '', username: 'cy', created_at: 7200, token_used: 1, count: 9, quota: 1 },
  ]

  it('builds one series per user', () => {
    const series = buildSeries(rows, 'quota', 3600, undefined, 'username')
    expect(series.models).toEqual([
      { name: 'ann', values: [100, 250] },
      { name: 'bob', values: [300, 0] },
      { name: 'cy', values: [0, 1] },
    ])
  })

  it('ranks users by the chosen metric', () => {
    expect(ranking(rows, 'username').map((r) => [r.name, r.quota])).toEqual([['ann', 350], ['bob', 300], ['cy', 1]])
    expect(ranking(rows, 'username', 'count').map((r) => r.name)).toEqual(['cy', 'ann', 'bob'])
    expect(ranking(rows, 'username', 'token_used', 1)).toEqual([{ name: 'bob', quota: 300, count: 1, tokens: 50 }])
  })

  it('keeps the top series and sums the rest', () => {
    const series = buildSeries(rows, 'quota', 3600, undefined, 'username')
    expect(topSeries(series, 1, 'others').models).toEqual([
      { name: 'ann', values: [100, 250] },
      { name: 'others', values: [300, 1] },
    ])
    expect(topSeries(series, 5)).toBe(series)
  })
})
