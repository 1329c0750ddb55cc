import { describe, expect, it } from 'vitest'
import { SseDecoder, readChunk } from '../src/api/chat'

const chunk = (content: string) => JSON.stringify({ choices: [{ index: 0, delta: { content } }] })

describe('SseDecoder', () => {
  it('splits events arriving in arbitrary pieces', () => {
    const decoder = new SseDecoder()
    const stream = `data: ${chunk('Hel')}\n\ndata: ${chunk('lo')}\n\ndata: [DONE]\n\n`
    const payloads: string[] = []
    for (let i = 0; i < stream.length; i += 7) payloads.push(...decoder.push(stream.slice(i, i + 7)))
    expect(payloads).toEqual([chunk('Hel'), chunk('lo'), '[DONE]'])
  })

  it('handles CRLF line ends, comments and multi-line data', () => {
    const decoder = new SseDecoder()
    expect(decoder.push(': keep-alive\r\n\r\ndata: a\r\ndata: b\r\n\r\n')).toEqual(['a\nb'])
  })

  it('holds an incomplete event until it ends', () => {
    const decoder = new SseDecoder()
    expect(decoder.push('data: {"x"')).toEqual([])
    expect(decoder.push(':1}\n\n')).toEqual(['{"x":1}'])
  })
})

describe('readChunk', () => {
  it('reads content, reasoning and usage', () => {
    expect(readChunk(chunk('Hi')).text).toBe('Hi')
    const reasoning = readChunk(JSON.stringify({ choices: [{ delta: { reasoning_content: 'hmm' } }] }))
    expect(reasoning.reasoning).toBe('hmm')
    const usage = readChunk(JSON.stringify({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } }))
    expect(usage.usage?.total_tokens).toBe(7)
  })

  it('ends on [DONE] and reports in-stream errors', () => {
    expect(readChunk('[DONE]').done).toBe(true)
    expect(readChunk(JSON.stringify({ error: { message: 'upstream overloaded' } })).error).toBe('upstream overloaded')
    expect(readChunk('{broken').error).toContain('unreadable stream event')
  })
})
