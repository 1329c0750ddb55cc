/**
 * The playground's chat call: `POST /v1/chat/completions` with a user's API key, streamed.
 * newapi has no /pg route; the relay is called exactly as any OpenAI client calls it.
 */

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant'
  content: string
}

export interface StreamUsage {
  prompt_tokens: number
  completion_tokens: number
  total_tokens: number
}

/**
 * Splits a server-sent-event byte stream (already decoded to text) into `data:` payloads.
 * Chunks may end anywhere: inside a line or between the two newlines that end an event.
 */
export class SseDecoder {
  private buffer = ''

  push(text: string): string[] {
    this.buffer += text.replace(/\r\n?/g, '\n')
    const payloads: string[] = []
    let end = this.buffer.indexOf('\n\n')
    while (end >= 0) {
      const event = this.buffer.slice(0, end)
      this.buffer = this.buffer.slice(end + 2)
      const data = event
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).replace(/^ /, ''))
      if (data.length) payloads.push(data.join('\n'))
      end = this.buffer.indexOf('\n\n')
    }
    return payloads
  }
}

export interface ChunkResult {
  text: string
  reasoning: string
  usage: StreamUsage | null
  error: string | null
  done: boolean
}

/** What one `data:` payload of a chat completion stream adds. */
export function readChunk(payload: string): ChunkResult {
  const result: ChunkResult = { text: '', reasoning: '', usage: null, error: null, done: false }
  if (payload.trim() === '[DONE]') return { ...result, done: true }
  let chunk: any
  try {
    chunk = JSON.parse(payload)
  } catch {
    return { ...result, error: `unreadable stream event: ${payload.slice(0, 120)}` }
  }
  if (chunk?.error) {
    return { ...result, error: String(chunk.error.message ?? chunk.error) }
  }
  for (const choice of chunk?.choices ?? []) {
    const delta = choice?.delta ?? {}
    if (typeof delta.content === 'string') result.text += delta.content
    if (typeof delta.reasoning_content === 'string') result.reasoning += delta.reasoning_content
  }
  if (chunk?.usage) result.usage = chunk.usage as StreamUsage
  return result
}

export interface ChatRequest {
  key: string
  model: string
  messages: ChatMessage[]
  temperature?: number
  maxTokens?: number
  signal?: AbortSignal
}

export interface ChatProgress {
  onText(text: string): void
  onFirstByte?(milliseconds: number): void
}

export interface ChatOutcome {
  text: string
  usage: StreamUsage | null
  firstByteMs: number | null
  totalMs: number
}

/** The relay's error body (OpenAI's `{error: {message}}`) as one line. */
async function relayError(response: Response): Promise<string> {
  const text = await response.text()
  try {
    const body = JSON.parse(text)
    return body?.error?.message ?? body?.message ?? `HTTP ${response.status}`
  } catch {
    return `HTTP ${response.status}: ${text.slice(0, 200)}`
  }
}

export async function streamChat(request: ChatRequest, progress: ChatProgress): Promise<ChatOutcome> {
  const started = performance.now()
  const key = request.key.startsWith('sk-') ? request.key : `sk-${request.key}`
  const response = await fetch('/v1/chat/completions', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` },
    body: JSON.stringify({
      model: request.model,
      messages: request.messages,
      stream: true,
      stream_options: { include_usage: true },
      ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
      ...(request.maxTokens ? { max_tokens: request.maxTokens } : {}),
    }),
    signal: request.signal,
  })
  if (!response.ok || !response.body) throw new Error(await relayError(response))
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
  const decoder = new SseDecoder()
  let text = ''
  let usage: StreamUsage | null = null
  let firstByteMs: number | null = null
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    if (firstByteMs === null) {
      firstByteMs = Math.round(performance.now() - started)
      progress.onFirstByte?.(firstByteMs)
    }
    for (const payload of decoder.push(value)) {
      const chunk = readChunk(payload)
      if (chunk.error) throw new Error(chunk.error)
      if (chunk.usage) usage = chunk.usage
      if (chunk.text) {
        text += chunk.text
        progress.onText(text)
      }
    }
  }
  return { text, usage, firstByteMs, totalMs: Math.round(performance.now() - started) }
}
