// Exports: the export dialog's subject (one job's clip, or every shot in order) and the export
// itself: a save dialog on the desktop, a download in the browser.
import { useCallback, useState } from 'react'
import type { DollyBridge, JobView } from '../../../shared/contract'
import type { ClipFormat } from '../../../shared/render'
import type { Client } from '../api/client'
import type { ExportOptions, ExportSource } from '../components/ExportDialog'

export function useExport(api: DollyBridge, client: Client, notify: (text: string) => void) {
  const [dialog, setDialog] = useState<{ jobIds: string[]; source: ExportSource } | null>(null)
  // exports under way (a long one, at 4x with interpolation, takes minutes): shown until done
  const [running, setRunning] = useState<
    { key: number; exportId: string; format: ClipFormat; since: number }[]
  >([])

  const exportClip = useCallback(
    async (
      jobIds: string[],
      format: ClipFormat,
      options: Omit<ExportOptions, 'format'> | null = null,
    ) => {
      const id = jobIds[0]!
      const key = Date.now() + Math.random()
      // main's name for it, so the running export's Cancel can stop it
      const exportId = `e-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`
      setRunning((rs) => [...rs, { key, exportId, format, since: Date.now() }])
      const r = await api.clip
        .export({ jobIds, format, ...(options ?? {}), exportId })
        .finally(() => setRunning((rs) => rs.filter((x) => x.key !== key)))
      if (!r.ok) return notify(r.error.message)
      if (r.value.url) {
        const a = document.createElement('a')
        a.href =
          client.mediaUrl(r.value.url) +
          `&download=dolly-${id.slice(0, 8)}.${format === 'png' ? 'zip' : format}`
        a.download = `dolly-${id.slice(0, 8)}.${format}`
        a.dataset['testid'] = 'export-link'
        document.body.appendChild(a)
        a.click()
        a.remove()
        notify(`Exported ${format.toUpperCase()}`)
      } else notify(r.value.path ? `Saved ${r.value.path}` : 'Export cancelled')
    },
    [api, client, notify],
  )

  /** The dialog for one finished job. */
  const openForJob = useCallback((j: JobView) => {
    if (!j.result) return
    setDialog({
      jobIds: [j.id],
      source: {
        title: 'Export clip',
        detail: `${j.result.width}×${j.result.height}, ${j.result.frames} frames rendered at ${j.result.fps} fps · seed ${j.result.seed}`,
        width: j.result.width,
        height: j.result.height,
        fps: j.result.fps,
        frames: j.result.frames,
        loop: j.request.loop ?? false,
      },
    })
  }, [])

  /** The dialog for every shot as one clip, once each shot has a finished render. */
  const openForShots = useCallback(
    /** `edited`: per shot, whether it was edited since the render it shows (the one joined). */
    (shotJobs: (JobView | undefined)[], edited: boolean[] = []) => {
      const first = shotJobs[0]?.result
      if (!first || shotJobs.some((j) => j?.state !== 'done'))
        return notify('Render every shot before exporting them as one clip')
      // one clip has one size and one frame rate: say which shots differ before the dialog
      const odd = (f: (r: NonNullable<JobView['result']>) => boolean) =>
        shotJobs.flatMap((j, i) => (f(j!.result!) ? [i + 1] : []))
      const size = odd((r) => r.width !== first.width || r.height !== first.height)
      if (size.length)
        return notify(
          `Shots ${size.join(', ')} differ in size from shot 1 (${first.width}×${first.height}); render them at one size to join them`,
        )
      const rate = odd((r) => r.fps !== first.fps)
      if (rate.length)
        return notify(
          `Shots ${rate.join(', ')} play at another frame rate than shot 1 (${first.fps} fps); joined they would play at the wrong speed: set one frame rate`,
        )
      const total = shotJobs.reduce((n, j) => n + (j?.result?.frames ?? 0), 0)
      // the renders shown are joined: a shot edited since its render goes in as it was rendered
      const stale = edited.flatMap((e, i) => (e ? [i + 1] : []))
      const staleNote = stale.length
        ? ` · Shot${stale.length > 1 ? 's' : ''} ${stale.join(', ')} ${stale.length > 1 ? 'were' : 'was'} edited since ${stale.length > 1 ? 'their renders' : 'its render'}: generate again to export the edit`
        : ''
      setDialog({
        jobIds: shotJobs.map((j) => j!.id),
        source: {
          title: 'Export all shots',
          detail: `${shotJobs.length} shots, ${total} frames at ${first.width}×${first.height}, ${first.fps} fps${staleNote}`,
          width: first.width,
          height: first.height,
          fps: first.fps,
          frames: total,
          // one shot is that shot's clip, a loop's in-betweens wrapping round as main makes
          // them; joined shots are cut one from the next, never wrapped
          ...(shotJobs.length === 1
            ? { loop: shotJobs[0]!.request.loop ?? false }
            : { loop: false, parts: shotJobs.map((j) => j?.result?.frames ?? 0) }),
        },
      })
    },
    [notify],
  )

  /** Stops an export under way; its clip.export then answers as cancelled. */
  const cancelExport = useCallback(
    (exportId: string) => void api.clip.cancelExport({ exportId }),
    [api],
  )

  return {
    dialog,
    close: () => setDialog(null),
    exportClip,
    openForJob,
    openForShots,
    running,
    cancelExport,
  }
}
