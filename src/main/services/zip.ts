// A store-only ZIP writer (no compression: the entries are PNGs, already compressed), for
// handing a folder of exported frames to a browser as one download. Written to a temp file
// and renamed, so a reader never sees half an archive.
import { closeSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs'
import { crc32 } from 'node:zlib'

export type ZipEntry = { name: string; path: string }

const DOS_DATE_1980 = (0 << 9) | (1 << 5) | 1 // 1980-01-01: fixed, so the archive is reproducible

export function writeStoredZip(out: string, entries: ZipEntry[]): void {
  if (entries.length > 0xffff) throw new Error(`zip: ${entries.length} entries; at most 65535`)
  const tmp = `${out}.tmp-${process.pid}`
  const fd = openSync(tmp, 'w')
  const central: Buffer[] = []
  let offset = 0
  const write = (b: Buffer) => {
    writeSync(fd, b)
    offset += b.length
  }
  try {
    for (const e of entries) {
      if (!/^[\w.-]{1,200}$/.test(e.name))
        throw new Error(`zip: entry name "${e.name}" is not allowed`)
      const data = readFileSync(e.path)
      if (offset + data.length > 0xfffffffe) throw new Error('zip: archive over 4 GiB needs ZIP64')
      const name = Buffer.from(e.name, 'utf8')
      const crc = crc32(data)
      const local = Buffer.alloc(30)
      local.writeUInt32LE(0x04034b50, 0)
      local.writeUInt16LE(20, 4) // version needed
      local.writeUInt16LE(0x0800, 6) // UTF-8 names
      local.writeUInt16LE(0, 8) // stored
      local.writeUInt16LE(0, 10) // time
      local.writeUInt16LE(DOS_DATE_1980, 12)
      local.writeUInt32LE(crc, 14)
      local.writeUInt32LE(data.length, 18)
      local.writeUInt32LE(data.length, 22)
      local.writeUInt16LE(name.length, 26)
      local.writeUInt16LE(0, 28)
      const cd = Buffer.alloc(46)
      cd.writeUInt32LE(0x02014b50, 0)
      cd.writeUInt16LE(20, 4) // made by
      cd.writeUInt16LE(20, 6) // needed
      cd.writeUInt16LE(0x0800, 8)
      cd.writeUInt16LE(0, 10)
      cd.writeUInt16LE(0, 12)
      cd.writeUInt16LE(DOS_DATE_1980, 14)
      cd.writeUInt32LE(crc, 16)
      cd.writeUInt32LE(data.length, 20)
      cd.writeUInt32LE(data.length, 24)
      cd.writeUInt16LE(name.length, 28)
      cd.writeUInt32LE(offset, 42) // local header offset (extra, comment, disk, attrs stay 0)
      central.push(cd, name)
      write(local)
      write(name)
      write(data)
    }
    const cdStart = offset
    for (const b of central) write(b)
    const end = Buffer.alloc(22)
    end.writeUInt32LE(0x06054b50, 0)
    end.writeUInt16LE(entries.length, 8)
    end.writeUInt16LE(entries.length, 10)
    end.writeUInt32LE(offset - cdStart, 12)
    end.writeUInt32LE(cdStart, 16)
    write(end)
    closeSync(fd)
    renameSync(tmp, out)
  } catch (err) {
    try {
      closeSync(fd)
    } catch {
      // already closed
    }
    rmSync(tmp, { force: true })
    throw err
  }
}
