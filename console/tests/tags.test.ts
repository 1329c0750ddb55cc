import { describe, expect, it } from 'vitest'
import type { Channel } from '../src/lib/channels'
import { changesSomething, channelIds, groupByTag, jsonObjectError, tagForm, tagFormErrors, tagGroup, tagState, tagUpdate } from '../src/lib/tags'

function channel(id: number, tag: string | null, extra: Partial<Channel> = {}): Channel {
  return {
    id, type: 1, name: `c${id}`, status: 1, weight: 1, priority: 0, base_url: null, other: '', models: 'a,b', group: 'default',
    model_mapping: null, test_model: null, tag, remark: null, response_time: 100 * id, test_time: 0, balance: 0, used_quota: 10, auto_ban: 1,
    ...extra,
  }
}

describe('grouping by tag', () => {
  const channels = [
    channel(1, 'east'),
    channel(2, null),
    channel(3, 'west', { status: 2, models: 'c' }),
    channel(4, 'east', { status: 3, priority: 5, models: 'b,d', group: 'vip' }),
    channel(5, '  '),
  ]

  it('puts tagged channels under one row per tag, untagged ones in place', () => {
    const rows = groupByTag(channels)
    expect(rows.map((r) => r.key)).toEqual(['tag:east', 2, 'tag:west', 5])
    const east = rows[0]!
    expect(east.kind).toBe('tag')
    if (east.kind !== 'tag') return
    expect(east.children.map((c) => c.key)).toEqual([1, 4])
    expect(east.group).toMatchObject({ tag: 'east', enabled: 1, priority: null, weight: 1, models: ['a', 'b', 'd'], groups: ['default', 'vip'], usedQuota: 20, responseTime: 400 })
  })

  it('names the state of a tag', () => {
    const rows = groupByTag(channels)
    const states = rows.flatMap((r) => (r.kind === 'tag' ? [tagState(r.group)] : []))
    expect(states).toEqual(['partial', 'disabled'])
    expect(tagState(tagGroup('x', [channel(1, 'x')]))).toBe('enabled')
  })

  it('keeps only channel ids from mixed selection keys', () => {
    expect(channelIds(['tag:east', 1, 4, 'tag:west'])).toEqual([1, 4])
  })
})

describe('tag editor', () => {
  const group = tagGroup('east', [channel(1, 'east'), channel(4, 'east', { priority: 5, group: 'vip' })])

  it('starts from the shared values; differing ones are empty', () => {
    const form = tagForm(group, ['a', 'b', 'x'])
    expect(form).toMatchObject({ tag: 'east', newTag: 'east', priority: null, weight: 1, models: ['a', 'b', 'x'], groups: ['default', 'vip'], modelMapping: '' })
    expect(tagForm(group).models).toEqual(['a', 'b'])
  })

  it('sends only what changed', () => {
    const start = tagForm(group)
    expect(tagUpdate(start, { ...start })).toEqual({ tag: 'east' })
    expect(changesSomething(tagUpdate(start, { ...start, models: ['b', 'a'] }))).toBe(false)
    const update = tagUpdate(start, {
      ...start,
      newTag: ' north ',
      priority: 7,
      weight: 1,
      models: ['a'],
      modelMapping: ' {"a": "b"} ',
      headerOverride: '{"X-Team": "a"}',
    })
    expect(update).toEqual({ tag: 'east', new_tag: 'north', priority: 7, models: 'a', model_mapping: '{"a": "b"}', header_override: '{"X-Team": "a"}' })
    expect(changesSomething(update)).toBe(true)
    expect(tagUpdate(start, { ...start, newTag: '  ' })).toEqual({ tag: 'east' })
    expect(tagUpdate(start, { ...start, groups: ['default'] })).toEqual({ tag: 'east', groups: 'default' })
  })

  it('checks the form before sending', () => {
    const start = tagForm(group)
    expect(tagFormErrors(start)).toEqual({})
    const errors = tagFormErrors({ ...start, weight: -1, models: [], groups: [], modelMapping: '{"a": 1}', paramOverride: '[1]', headerOverride: '{' })
    expect(Object.keys(errors).sort()).toEqual(['groups', 'headerOverride', 'modelMapping', 'models', 'paramOverride', 'weight'])
    expect(errors.paramOverride).toContain('JSON object')
    expect(errors.headerOverride).toContain('not valid JSON')
    expect(jsonObjectError('  ', 'x')).toBeNull()
  })
})
