// A minimal reader of server-sent events (WHATWG HTML §9.2.6) over a fetch() body: fields `id`, `data`
// and comments; `event` and `retry` are read and ignored.

export type SseItem = { kind: 'event', id: string | undefined, data: string } | { kind: 'comment', text: string }

export async function * readSse (body: ReadableStream<Uint8Array>): AsyncGenerator<SseItem> {
  const decoder = new TextDecoder()
  let buffer = ''
  let data: string[] = []
  let id: string | undefined
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true })
    let newline: number
    while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
      // A lone CR at the end may be the first half of a CRLF split across chunks.
      if (buffer[newline] === '\r' && newline === buffer.length - 1) break
      const line = buffer.slice(0, newline)
      buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1))
      if (line === '') {
        if (data.length > 0) yield { kind: 'event', id, data: data.join('\n') }
        data = []
        id = undefined
      } else if (line.startsWith(':')) {
        yield { kind: 'comment', text: line.slice(1).trim() }
      } else {
        const colon = line.indexOf(':')
        const field = colon < 0 ? line : line.slice(0, colon)
        const value = colon < 0 ? '' : line.slice(colon + (line[colon + 1] === ' ' ? 2 : 1))
        if (field === 'data') data.push(value)
        else if (field === 'id') id = value
      }
    }
  }
}
