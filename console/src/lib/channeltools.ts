/** Pure helpers of the channel tools: which fetch-models route to call, test-all progress. */
import { CHANNEL_STATUS, firstKey, type Channel, type ChannelForm } from './channels'
import { formatLatency } from './format'

/** GET /fetch_models/:id for a saved channel with no key typed, else POST with the form's values. */
export function fetchModelsRequest(form: ChannelForm): { id: number; body?: undefined } | { id?: undefined; body: { base_url: string; type: number; key: string } } {
  const key = firstKey(form)
  if (form.id !== null && !key) return { id: form.id }
  return { body: { base_url: form.baseUrl.trim(), type: form.type, key } }
}

/** Each channel the server tests (all but those disabled by hand) and its test time before. */
export type TestSnapshot = Map<number, number>

export function testSnapshot(channels: Channel[]): TestSnapshot {
  return new Map(channels.filter((c) => c.status !== CHANNEL_STATUS.manuallyDisabled).map((c) => [c.id, c.test_time]))
}

export interface TestProgress {
  done: number
  total: number
}

/** How many of the snapshot's channels have been tested since (deleted ones count as done). */
export function testProgress(before: TestSnapshot, now: Channel[]): TestProgress {
  const current = new Map(now.map((c) => [c.id, c.test_time]))
  let done = 0
  for (const [id, time] of before) {
    const after = current.get(id)
    if (after === undefined || after > time) done += 1
  }
  return { done, total: before.size }
}

/** The models to keep after a fetch: the picked ones, in the provider's order. */
export function pickedModels(fetched: string[], picked: string[]): string[] {
  const keep = new Set(picked)
  return fetched.filter((name) => keep.has(name))
}

/** A channel's last test latency: '-' when never tested, "0 ms" for a very fast local upstream. */
export function testedLatency(channel: Pick<Channel, 'test_time' | 'response_time'>): string {
  if (!channel.test_time) return '-'
  return channel.response_time ? formatLatency(channel.response_time) : '0 ms'
}
