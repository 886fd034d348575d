import { useEffect, useRef, useState, type MutableRefObject } from 'react'
import type { DollyBridge } from '../../../shared/contract'
import type { ProjectDoc } from '../state/project'
import { PAGE_SESSION } from '../state/page-session'
import { SmallButton } from './SmallButton'
import type { KnownRevision } from '../hooks/useProjectFile'
import { dialogHasKeyboard } from '../hooks/useShortcuts'

type Props = {
  api: DollyBridge
  name: string | null
  dirty: boolean
  doc: ProjectDoc
  /**
   * The revision of the file this page last opened or saved (or recovered work was edited
   * from), by name: a Save of that name checks the file is still that one.
   */
  known: MutableRefObject<KnownRevision | null>
  onNew: () => void
  onOpened: (
    name: string,
    doc: ProjectDoc,
    migratedFrom: number | null,
    recovered: string | null,
  ) => void
  onSaved: (name: string) => void
  onNotice: (text: string) => void
}

/** New / Open / Save / Save As, the recent list, and the project's name with its unsaved mark. */
export function ProjectBar({
  api,
  name,
  dirty,
  doc,
  known,
  onNew,
  onOpened,
  onSaved,
  onNotice,
}: Props) {
  const [list, setList] = useState<{ name: string }[]>([])
  const [recent, setRecent] = useState<string[]>([])
  const refresh = () =>
    void api.project.list().then((r) => {
      if (r.ok) {
        setList(r.value.projects)
        setRecent(r.value.recent)
        // entries the list skipped (a dangling link) or restored, said once
        if (r.value.problems?.length) onNotice(r.value.problems.join(' · '))
      }
    })
  useEffect(refresh, [api])

  // a save on its way: another press (a double press, a held key's repeats) sent the same base
  // revision, and its own first save then came back as another tab's conflict
  const saving = useRef(false)
  const save = async (as: boolean) => {
    if (saving.current) return onNotice('Saving… (the project is marked • if edits came after)')
    saving.current = true
    try {
      await saveNow(as)
    } finally {
      saving.current = false
    }
  }
  const saveNow = async (as: boolean) => {
    let target = name
    let confirmed = false
    if (as || !target) {
      target = window.prompt('Save the project as', name ?? 'Untitled')?.trim() ?? null
      if (!target) return
      // another project of that name is replaced only when the person says so (names compared
      // as a case-insensitive file system sees them, and without the .dolly the store strips)
      const key = (n: string) =>
        n
          .replace(/\.dolly$/i, '')
          .normalize('NFC')
          .toLowerCase()
      const wanted = key(target)
      if (wanted !== key(name ?? '') && list.some((p) => key(p.name) === wanted)) {
        if (
          !window.confirm(
            `A project named "${target}" exists. Replace it? (Its previous version is kept as a .bak file.)`,
          )
        )
          return
        confirmed = true
      }
    }
    // a Save of the file this page has: checked against what it read; a name the person
    // confirmed replacing: written; Save As (or a first Save) to its own name or to a name the
    // list lacks: checked too, against what this page read or against no file, since another
    // tab may have saved there after this page read the file or its list
    // (by the file's name: the store drops a typed .dolly)
    const file = target.endsWith('.dolly') ? target.slice(0, -6) : target
    const knownBase =
      known.current && known.current.name === file ? known.current.revision : undefined
    const base = confirmed ? undefined : as || !name ? (knownBase ?? null) : knownBase
    let r = await api.project.save({ name: target, doc, page: PAGE_SESSION, base })
    if (!r.ok && r.error.code === 'conflict') {
      if (
        !window.confirm(
          `${r.error.message}. Replace that version with this page's? (It is kept as a .bak file.) Cancel, then Save As, keeps both.`,
        )
      )
        return onNotice(`Not saved: ${r.error.message}`)
      r = await api.project.save({ name: target, doc, page: PAGE_SESSION })
    }
    if (!r.ok) return onNotice(r.error.message)
    known.current = { name: r.value.name, revision: r.value.revision }
    onSaved(r.value.name)
    onNotice(`Saved ${r.value.name}`)
    refresh()
  }
  const open = async (n: string) => {
    if (!n) return
    if (dirty && !window.confirm('Discard the unsaved changes of this project?')) return
    const r = await api.project.open({ name: n })
    if (!r.ok) return onNotice(r.error.message)
    known.current = { name: n, revision: r.value.revision }
    onOpened(n, r.value.doc, r.value.migratedFrom, r.value.recovered ?? null)
    refresh()
  }

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 's') {
        e.preventDefault() // never the browser's "save page"
        // an open dialog keeps the keyboard, as for the other shortcuts
        if (dialogHasKeyboard(e.target)) return
        void save(e.shiftKey)
      }
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  })

  return (
    <span className="projectbar">
      <span className="project-name" data-testid="project-name">
        {name ?? 'Untitled'}
        {dirty ? ' •' : ''}
      </span>
      <SmallButton
        onClick={() =>
          (!dirty || window.confirm('Discard the unsaved changes of this project?')) && onNew()
        }
        data-testid="project-new"
      >
        New
      </SmallButton>
      <select
        value=""
        onChange={(e) => void open(e.target.value)}
        aria-label="Open a project"
        data-testid="project-open"
      >
        <option value="">Open…</option>
        {recent.length ? (
          <optgroup label="Recent">
            {recent.map((n) => (
              <option key={`r-${n}`} value={n}>
                {n}
              </option>
            ))}
          </optgroup>
        ) : null}
        <optgroup label="All projects">
          {list.map((p) => (
            <option key={p.name} value={p.name}>
              {p.name}
            </option>
          ))}
        </optgroup>
      </select>
      <SmallButton
        onClick={() => void save(false)}
        title="Save (Ctrl+S)"
        data-testid="project-save"
      >
        Save
      </SmallButton>
      <SmallButton onClick={() => void save(true)} title="Save as (Ctrl+Shift+S)">
        Save As
      </SmallButton>
    </span>
  )
}
