// The image-to-video input: drop an image (or pick one), see it, choose how it meets the
// clip's aspect. The bytes go to main, which keeps them and answers with an id; the project
// stores that id, so a reopened project still has its image.
import { useRef, useState } from 'react'
import type { InputImage } from '../../../shared/contract'

type Props = {
  image: InputImage | undefined
  /** Sends the file's bytes to main (see api/client.ts). */
  upload: (file: File) => Promise<{ id: string; name: string }>
  /** Where main serves a stored image (so a reopened project shows its image too). */
  urlOf: (id: string) => string
  onChange: (image: InputImage | undefined) => void
}

export function ImageDrop({ image, upload, urlOf, onChange }: Props) {
  const [over, setOver] = useState(false)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const input = useRef<HTMLInputElement>(null)

  const take = async (file: File | undefined) => {
    if (!file) return
    setError(null)
    setBusy(true)
    try {
      const r = await upload(file)
      onChange({ id: r.id, name: r.name, fit: image?.fit ?? 'crop' })
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <div className="field">
      <span>Input image</span>
      <div
        className={`dropzone ${over ? 'over' : ''}`}
        data-testid="image-drop"
        role="button"
        tabIndex={0}
        onClick={() => input.current?.click()}
        onKeyDown={(e) => (e.key === 'Enter' || e.key === ' ') && input.current?.click()}
        onDragOver={(e) => {
          e.preventDefault()
          setOver(true)
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault()
          setOver(false)
          void take(e.dataTransfer.files[0])
        }}
      >
        {image ? <img src={urlOf(image.id)} alt={image.name} /> : null}
        <span className="hint" data-testid="image-name">
          {busy
            ? 'Sending…'
            : image
              ? `${image.name} · drop another to replace`
              : 'Drop an image here, or click to choose one'}
        </span>
        <input
          ref={input}
          type="file"
          accept="image/png,image/jpeg,image/webp,image/bmp,image/tiff"
          hidden
          data-testid="image-file"
          onChange={(e) => {
            void take(e.target.files?.[0])
            // the same file picked again (after an undo, or a refusal) must fire change again
            e.target.value = ''
          }}
        />
      </div>
      {error ? (
        <p className="hint error" data-testid="image-error">
          {error}
        </p>
      ) : null}
      {image ? (
        <label className="inline-field">
          <span>Fit</span>
          <select
            value={image.fit}
            aria-label="Image fit"
            onChange={(e) => onChange({ ...image, fit: e.target.value as InputImage['fit'] })}
          >
            <option value="crop">crop to the clip</option>
            <option value="pad">pad (letterbox)</option>
            <option value="stretch">stretch</option>
          </select>
        </label>
      ) : null}
    </div>
  )
}
