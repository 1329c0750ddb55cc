import { afterEach, describe, expect, it, vi } from 'vitest'
import { ApiError, api, queryString, readEnvelope, send, setUnauthorizedHandler, storedUserId, USER_KEY } from '../src/api/http'

function reply(body: unknown, status = 200): Response {
  return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status })
}

afterEach(() => {
  vi.unstubAllGlobals()
  localStorage.clear()
  setUnauthorizedHandler(null)
})

describe('envelope', () => {
  it('returns data of a successful envelope', async () => {
    expect((await readEnvelope(reply({ success: true, message: '', data: [1, 2] }))).data).toEqual([1, 2])
  })

  it("throws the server's message when success is false, even on HTTP 200", async () => {
    await expect(readEnvelope(reply({ success: false, message: 'name is required' }))).rejects.toThrow('name is required')
  })

  it('reads OpenAI-style errors', async () => {
    const error = await readEnvelope(reply({ error: { message: 'invalid key' } }, 401)).catch((e) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect(error.message).toBe('invalid key')
    expect(error.status).toBe(401)
  })

  it('turns a non-JSON body into a short readable message', async () => {
    const error = await readEnvelope(reply('<html><body><h1>502 Bad Gateway</h1></body></html>', 502)).catch((e) => e)
    expect(error.message).toBe('HTTP 502: 502 Bad Gateway')
  })

  it('calls the unauthorized handler on 401', async () => {
    const handler = vi.fn()
    setUnauthorizedHandler(handler)
    await expect(readEnvelope(reply({ success: false, message: 'not logged in' }, 401))).rejects.toThrow('not logged in')
    expect(handler).toHaveBeenCalledOnce()
  })
})

describe('requests', () => {
  it('sends New-Api-User from the stored user and the cookie, and JSON bodies', async () => {
    localStorage.setItem(USER_KEY, JSON.stringify({ id: 7, username: 'root' }))
    const fetchMock = vi.fn(async () => reply({ success: true, data: { id: 3 } }))
    vi.stubGlobal('fetch', fetchMock)
    expect(await api.post('/api/token/', { name: 'k' })).toEqual({ id: 3 })
    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit]
    expect(url).toBe('/api/token/')
    expect(init.credentials).toBe('same-origin')
    expect((init.headers as Record<string, string>)['New-Api-User']).toBe('7')
    expect(init.body).toBe('{"name":"k"}')
  })

  it('omits New-Api-User when nobody is logged in', async () => {
    const fetchMock = vi.fn(async () => reply({ success: true, data: null }))
    vi.stubGlobal('fetch', fetchMock)
    await api.get('/api/status')
    const [, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit]
    expect(init.headers).toEqual({})
  })

  it('keeps fields beside data (the channel test answers {success, message, time})', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => reply({ success: true, message: '', time: 0.42 })))
    expect((await send('GET', '/api/channel/test/1')).time).toBe(0.42)
  })

  it('reports a network failure as an error with a message', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))))
    await expect(api.get('/api/status')).rejects.toThrow('network error: Failed to fetch')
  })

  it('builds query strings without empty values', () => {
    expect(queryString({ p: 1, keyword: '', type: undefined, status: null, model: 'a b' })).toBe('?p=1&model=a+b')
    expect(queryString({})).toBe('')
  })

  it('reads only a valid stored user id', () => {
    localStorage.setItem(USER_KEY, 'not json')
    expect(storedUserId()).toBeNull()
    localStorage.setItem(USER_KEY, JSON.stringify({ id: 'x' }))
    expect(storedUserId()).toBeNull()
    localStorage.setItem(USER_KEY, JSON.stringify({ id: 12 }))
    expect(storedUserId()).toBe(12)
  })
})
