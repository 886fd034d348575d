// A WebSocket client that writes raw bytes: a real upgrade handshake (with the token), then
// whatever frames a test builds, valid or not, and the server's answer read back frame by frame.
import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'

export type RawSocket = {
  socket: Socket
  /** Resolves with the close code the server sent (null if it only dropped the connection). */
  closed: Promise<{ code: number | null; reason: string }>
  /** Text frames the server sent, in order. */
  texts: string[]
  write(bytes: Buffer): void
}

/** Opens /ws with the token; rejects unless the server answers 101. */
export function openRaw(port: number, token: string): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const key = randomBytes(16).toString('base64')
    let buf = Buffer.alloc(0)
    let upgraded = false
    const texts: string[] = []
    let closeInfo: { code: number | null; reason: string } | null = null
    let onClosed: (c: { code: number | null; reason: string }) => void = () => undefined
    const closed = new Promise<{ code: number | null; reason: string }>((r) => (onClosed = r))
    socket.on('error', () => undefined)
    socket.on('close', () => {
      if (!upgraded) reject(new Error('the connection closed before the upgrade'))
      onClosed(closeInfo ?? { code: null, reason: '' })
    })
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk])
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n')
        if (end < 0) return
        const head = buf.subarray(0, end).toString('latin1')
        buf = buf.subarray(end + 4)
        if (!/^HTTP\/1\.1 101 /.test(head)) {
          reject(new Error(`upgrade refused: ${head.split('\r\n')[0]}`))
          socket.destroy()
          return
        }
        upgraded = true
        resolve({ socket, closed, texts, write: (b) => socket.write(b) })
      }
      // server frames are unmasked: FIN/opcode, length (7, 16 or 64 bits), payload
      for (;;) {
        if (buf.length < 2) return
        const opcode = buf[0]! & 0x0f
        let len = buf[1]! & 0x7f
        let off = 2
        if (len === 126) {
          if (buf.length < 4) return
          len = buf.readUInt16BE(2)
          off = 4
        } else if (len === 127) {
          if (buf.length < 10) return
          len = Number(buf.readBigUInt64BE(2))
          off = 10
        }
        if (buf.length < off + len) return
        const payload = buf.subarray(off, off + len)
        buf = buf.subarray(off + len)
        if (opcode === 0x1) texts.push(payload.toString('utf8'))
        if (opcode === 0x8) {
          // the server's close frame is its answer; the TCP close may wait for ours
          closeInfo = {
            code: payload.length >= 2 ? payload.readUInt16BE(0) : null,
            reason: payload.subarray(2).toString('utf8'),
          }
          onClosed(closeInfo)
        }
      }
    })
    socket.write(
      [
        `GET /ws?token=${encodeURIComponent(token)} HTTP/1.1`,
        `Host: 127.0.0.1:${port}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Key: ${key}`,
        'Sec-WebSocket-Version: 13',
        '',
        '',
      ].join('\r\n'),
    )
  })
}

export type FrameOptions = {
  fin?: boolean
  rsv1?: boolean
  mask?: boolean
  /** The length written in the header, when it should differ from the payload's. */
  declaredLength?: number
}

/** One client frame, masked unless told otherwise. */
export function frame(opcode: number, payload: Buffer, o: FrameOptions = {}): Buffer {
  const mask = o.mask ?? true
  const len = o.declaredLength ?? payload.length
  const head: number[] = [(o.fin === false ? 0 : 0x80) | (o.rsv1 ? 0x40 : 0) | opcode]
  const m = mask ? 0x80 : 0
  let ext = Buffer.alloc(0)
  if (len < 126) head.push(m | len)
  else if (len < 65536) {
    head.push(m | 126)
    ext = Buffer.alloc(2)
    ext.writeUInt16BE(len)
  } else {
    head.push(m | 127)
    ext = Buffer.alloc(8)
    ext.writeBigUInt64BE(BigInt(len))
  }
  if (!mask) return Buffer.concat([Buffer.from(head), ext, payload])
  const key = randomBytes(4)
  const body = Buffer.from(payload)
  for (let i = 0; i < body.length; i++) body[i]! ^= key[i % 4]!
  return Buffer.concat([Buffer.from(head), ext, key, body])
}

export const text = (s: string, o?: FrameOptions) => frame(0x1, Buffer.from(s, 'utf8'), o)

/** Sends one command as a text frame and waits for its answer. */
export async function ask(
  raw: RawSocket,
  id: number,
  command: string,
  payload: unknown,
  timeoutMs = 20_000,
): Promise<{ ok: boolean; value?: unknown; error?: { code: string; message: string } }> {
  const before = raw.texts.length
  raw.write(text(JSON.stringify({ id, command, payload })))
  const t0 = Date.now()
  for (;;) {
    for (const t of raw.texts.slice(before)) {
      const m = JSON.parse(t) as { id?: number; result?: never }
      if (m.id === id && m.result) return m.result
    }
    if (Date.now() - t0 > timeoutMs)
      throw new Error(`no answer to ${command} within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 10))
  }
}
