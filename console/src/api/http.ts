/**
 * The one way the console talks to newapi's admin API: same-origin fetch with the session
 * cookie, the `New-Api-User` header (newapi/auth/guards.py refuses /api calls without it), and
 * new-api's envelope `{success, message, data}` unwrapped. A failed call throws ApiError with
 * the server's own message, which the pages show as it is.
 */

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

export interface Page<T> {
  page: number
  page_size: number
  total: number
  items: T[]
}

type Query = Record<string, string | number | boolean | undefined | null>

/** Where the logged-in user's id lives between page loads (new-api's UIs use the same key). */
export const USER_KEY = 'user'

export function storedUserId(storage: Storage = localStorage): number | null {
  try {
    const raw = storage.getItem(USER_KEY)
    const id = raw ? Number(JSON.parse(raw)?.id) : NaN
    return Number.isInteger(id) && id > 0 ? id : null
  } catch {
    return null
  }
}

export function queryString(query: Query | undefined): string {
  if (!query) return ''
  const params = new URLSearchParams()
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(name, String(value))
  }
  const text = params.toString()
  return text ? `?${text}` : ''
}

/** Called when the server says the session is gone (401), so the app can go to the login page. */
let onUnauthorized: (() => void) | null = null
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  onUnauthorized = handler
}

export function authHeaders(): Record<string, string> {
  const id = storedUserId()
  return id === null ? {} : { 'New-Api-User': String(id) }
}

/** The message to show for a body that is not the envelope (a proxy error page, say). */
function fallbackMessage(status: number, text: string): string {
  const snippet = text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200)
  return snippet ? `HTTP ${status}: ${snippet}` : `HTTP ${status}`
}

export interface Envelope<T> {
  success: boolean
  message?: string
  data?: T
}

/** Parse a response into the envelope, or throw ApiError with the best message there is. */
export async function readEnvelope<T>(response: Response): Promise<Envelope<T>> {
  const text = await response.text()
  let body: unknown
  try {
    body = text ? JSON.parse(text) : {}
  } catch {
    throw new ApiError(fallbackMessage(response.status, text), response.status)
  }
  if (typeof body !== 'object' || body === null) {
    throw new ApiError(fallbackMessage(response.status, text), response.status)
  }
  const envelope = body as Envelope<T> & { error?: { message?: string } }
  if (envelope.error?.message) throw new ApiError(envelope.error.message, response.status)
  if (response.status === 401) onUnauthorized?.()
  if (!response.ok || envelope.success === false) {
    throw new ApiError(envelope.message || `HTTP ${response.status}`, response.status)
  }
  return envelope
}

/** One call, the whole envelope back (a few routes, like the channel test, put fields beside data). */
export async function send<T>(
  method: string,
  path: string,
  body?: unknown,
  query?: Query,
): Promise<Envelope<T> & Record<string, unknown>> {
  const headers: Record<string, string> = { ...authHeaders() }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  let response: Response
  try {
    response = await fetch(path + queryString(query), {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch (error) {
    throw new ApiError(`network error: ${(error as Error).message}`, 0)
  }
  return (await readEnvelope<T>(response)) as Envelope<T> & Record<string, unknown>
}

export async function call<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
  return (await send<T>(method, path, body, query)).data as T
}

export const api = {
  get: <T>(path: string, query?: Query) => call<T>('GET', path, undefined, query),
  post: <T>(path: string, body?: unknown) => call<T>('POST', path, body ?? {}),
  put: <T>(path: string, body?: unknown, query?: Query) => call<T>('PUT', path, body ?? {}, query),
  delete: <T>(path: string, query?: Query) => call<T>('DELETE', path, undefined, query),
}
