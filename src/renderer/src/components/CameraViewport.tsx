// The 3D camera editor: ground grid and axes, a reference subject, the path as a curve, a
// frustum at every sampled frame (the playhead's highlighted), keyframe handles moved and
// rotated with a transform gizmo, perspective/top/side/through-the-camera views.
import { useEffect, useRef } from 'react'
import * as THREE from 'three'
import { OrbitControls } from 'three/addons/controls/OrbitControls.js'
import { TransformControls } from 'three/addons/controls/TransformControls.js'
import {
  sampleTrajectory,
  withTravel,
  type Quat,
  type Trajectory,
  type Vec3,
} from '../../../shared/camera'
import { gestureKey } from '../../../shared/history'

/** How far (CSS pixels) a press may move and still be a click rather than an orbit's drag. */
const CLICK_SLOP_PX = 4

export type ViewMode = 'perspective' | 'top' | 'side' | 'camera'

type Props = {
  trajectory: Trajectory
  frames: number
  playhead: number
  selected: string | null
  view: ViewMode
  gizmo: 'translate' | 'rotate'
  onSelect: (id: string | null) => void
  /** Image-to-video: the input image, shown on a plane at the focus distance instead of the box. */
  subjectImage?: string | null
  /** A keyframe moved or turned with the gizmo (called continuously while dragging). */
  /** A keyframe moved; `gesture` is the drag's merge key (one undo step per drag). */
  onKeyframeChange: (id: string, position: Vec3, rotation: Quat, gesture: string) => void
  /** The clip's aspect (width / height) the frustums are drawn with; 16:9 when no model is known. */
  aspect?: number
  /**
   * The camera travel the model renders (the motion slider on camera models; 1 elsewhere): when
   * it is not 1 the path as rendered is drawn dashed beside the drawn one, and the view through
   * the camera looks from the rendered position.
   */
  travel?: number
}

function frustumLines(
  fov: number,
  aspect: number,
  depth: number,
  color: number,
): THREE.LineSegments {
  const h = Math.tan((fov * Math.PI) / 360) * depth
  const w = h * aspect
  const c = [0, 0, 0]
  const corners = [
    [-w, h, -depth],
    [w, h, -depth],
    [w, -h, -depth],
    [-w, -h, -depth],
  ]
  const pts: number[] = []
  for (const k of corners) pts.push(...c, ...k)
  for (let i = 0; i < 4; i++) pts.push(...corners[i]!, ...corners[(i + 1) % 4]!)
  // the "up" tick, so roll is visible
  pts.push(0, h, -depth, 0, h * 1.3, -depth)
  const g = new THREE.BufferGeometry()
  g.setAttribute('position', new THREE.Float32BufferAttribute(pts, 3))
  return new THREE.LineSegments(g, new THREE.LineBasicMaterial({ color }))
}

export function CameraViewport(p: Props) {
  const host = useRef<HTMLDivElement>(null)
  const state = useRef<{
    renderer: THREE.WebGLRenderer
    scene: THREE.Scene
    editorCam: THREE.PerspectiveCamera
    orbit: OrbitControls
    gizmo: TransformControls
    pathGroup: THREE.Group
    handles: Map<string, THREE.Mesh>
    shotCam: THREE.PerspectiveCamera
    subject: THREE.Mesh
    picture: THREE.Mesh | null
  } | null>(null)
  const props = useRef(p)
  props.current = p

  // one-time setup
  useEffect(() => {
    const el = host.current!
    let renderer: THREE.WebGLRenderer
    try {
      renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true })
    } catch {
      el.textContent = 'WebGL is not available here, so the 3D camera editor cannot be shown.'
      return
    }
    renderer.setPixelRatio(window.devicePixelRatio)
    el.appendChild(renderer.domElement)
    const scene = new THREE.Scene()
    scene.background = new THREE.Color(0x111318)
    const grid = new THREE.GridHelper(20, 20, 0x3a4150, 0x252a33)
    grid.position.y = -1
    scene.add(grid)
    const axes = new THREE.AxesHelper(1.2)
    axes.position.y = -0.999
    scene.add(axes)
    // the reference subject at the focus distance (what the presets look at)
    const subject = new THREE.Mesh(
      new THREE.BoxGeometry(1, 1.6, 1),
      new THREE.MeshStandardMaterial({ color: 0x6c7a96, roughness: 0.7 }),
    )
    subject.position.set(0, -0.2, -4)
    scene.add(subject)
    scene.add(new THREE.HemisphereLight(0xffffff, 0x223344, 1.2))
    const editorCam = new THREE.PerspectiveCamera(50, 1, 0.05, 200)
    editorCam.position.set(5, 4, 5)
    const orbit = new OrbitControls(editorCam, renderer.domElement)
    orbit.target.set(0, 0, -2)
    orbit.update()
    const gizmo = new TransformControls(editorCam, renderer.domElement)
    gizmo.setSize(0.8)
    scene.add(gizmo.getHelper())
    // each drag (of the gizmo or of a handle) is one gesture: one undo step
    let gesture = gestureKey('keyframe')
    // a press on empty space that is released where it began (a click, not an orbit's drag)
    // clears the selection, as in any 3D editor; a press on the gizmo never does
    let press: { x: number; y: number; pointerId: number } | null = null
    gizmo.addEventListener('dragging-changed', (e) => {
      const dragging = (e as unknown as { value: boolean }).value
      orbit.enabled = !dragging
      if (dragging) {
        gesture = gestureKey('keyframe')
        press = null
      }
    })
    gizmo.addEventListener('objectChange', () => {
      const obj = gizmo.object
      if (!obj) return
      const id = obj.userData['id'] as string
      props.current.onKeyframeChange(
        id,
        [obj.position.x, obj.position.y, obj.position.z],
        [obj.quaternion.x, obj.quaternion.y, obj.quaternion.z, obj.quaternion.w],
        gesture,
      )
    })
    const pathGroup = new THREE.Group()
    scene.add(pathGroup)
    const shotCam = new THREE.PerspectiveCamera(45, 16 / 9, 0.05, 200)

    // Handles can also be dragged directly: in the plane through the handle facing the view.
    const raycaster = new THREE.Raycaster()
    let drag: { id: string; plane: THREE.Plane; offset: THREE.Vector3; quat: Quat } | null = null
    const rayFrom = (ev: PointerEvent) => {
      const r = renderer.domElement.getBoundingClientRect()
      raycaster.setFromCamera(
        new THREE.Vector2(
          ((ev.clientX - r.left) / r.width) * 2 - 1,
          -((ev.clientY - r.top) / r.height) * 2 + 1,
        ),
        editorCam,
      )
    }
    const onPointerDown = (ev: PointerEvent) => {
      press = null
      if ((gizmo as unknown as { dragging: boolean }).dragging || props.current.view === 'camera')
        return
      rayFrom(ev)
      const hit = raycaster.intersectObjects([...(state.current?.handles.values() ?? [])])[0]
      if (!hit) {
        // the gizmo's axis under the pointer (set as it hovers): its own drag, not a click
        press =
          ev.button === 0 && gizmo.axis === null
            ? { x: ev.clientX, y: ev.clientY, pointerId: ev.pointerId }
            : null
        return
      }
      const id = hit.object.userData['id'] as string
      props.current.onSelect(id)
      const normal = new THREE.Vector3()
      editorCam.getWorldDirection(normal)
      const plane = new THREE.Plane().setFromNormalAndCoplanarPoint(normal, hit.object.position)
      const q = hit.object.quaternion
      drag = {
        id,
        plane,
        offset: hit.object.position.clone().sub(hit.point),
        quat: [q.x, q.y, q.z, q.w],
      }
      gesture = gestureKey('keyframe')
      orbit.enabled = false
      renderer.domElement.setPointerCapture(ev.pointerId)
      ev.stopPropagation()
    }
    const onPointerMove = (ev: PointerEvent) => {
      // moved more than a click's jitter: an orbit
      if (press && Math.hypot(ev.clientX - press.x, ev.clientY - press.y) > CLICK_SLOP_PX)
        press = null
      if (!drag) return
      rayFrom(ev)
      const pt = new THREE.Vector3()
      if (!raycaster.ray.intersectPlane(drag.plane, pt)) return
      pt.add(drag.offset)
      props.current.onKeyframeChange(drag.id, [pt.x, pt.y, pt.z], drag.quat, gesture)
    }
    const onPointerUp = (ev: PointerEvent) => {
      if (press && press.pointerId === ev.pointerId) {
        const clicked = Math.hypot(ev.clientX - press.x, ev.clientY - press.y) <= CLICK_SLOP_PX
        press = null
        if (clicked && props.current.selected !== null) props.current.onSelect(null)
      }
      if (!drag) return
      drag = null
      orbit.enabled = true
      renderer.domElement.releasePointerCapture(ev.pointerId)
    }
    renderer.domElement.addEventListener('pointerdown', onPointerDown, { capture: true })
    renderer.domElement.addEventListener('pointermove', onPointerMove)
    renderer.domElement.addEventListener('pointerup', onPointerUp)

    state.current = {
      renderer,
      scene,
      editorCam,
      orbit,
      gizmo,
      pathGroup,
      handles: new Map(),
      shotCam,
      subject,
      picture: null,
    }
    el.dataset['subject'] = 'box'
    const resize = () => {
      const w = el.clientWidth || 1
      const h = el.clientHeight || 1
      renderer.setSize(w, h)
      editorCam.aspect = w / h
      editorCam.updateProjectionMatrix()
    }
    const ro = new ResizeObserver(resize)
    ro.observe(el)
    resize()
    let raf = 0
    const loop = () => {
      raf = requestAnimationFrame(loop)
      const s = state.current!
      const through = props.current.view === 'camera'
      const cam = through ? s.shotCam : s.editorCam
      // through the camera: the clip's own frame (its aspect), letterboxed in the panel, so the
      // framing shown is the framing rendered (it took the panel's shape)
      const W = el.clientWidth
      const H = Math.max(el.clientHeight, 1)
      let [vx, vy, vw, vh] = [0, 0, W, H]
      if (through) {
        const a = props.current.aspect ?? 16 / 9
        if (W / H > a) [vw, vx] = [H * a, (W - H * a) / 2]
        else [vh, vy] = [W / a, (H - W / a) / 2]
        s.shotCam.aspect = a
      }
      s.shotCam.updateProjectionMatrix()
      s.renderer.setScissorTest(false)
      s.renderer.setViewport(0, 0, W, H)
      s.renderer.clear()
      s.renderer.setViewport(vx, vy, vw, vh)
      s.renderer.setScissor(vx, vy, vw, vh)
      s.renderer.setScissorTest(through)
      s.renderer.render(s.scene, cam)
      s.renderer.setScissorTest(false)
      // where each handle is on screen (for keyboard-less checks and tests)
      const spots = [...s.handles.entries()].map(([id, m]) => {
        const v = m.position.clone().project(cam)
        return {
          id,
          x: Math.round(vx + ((v.x + 1) / 2) * vw),
          y: Math.round(vy + ((1 - v.y) / 2) * vh),
        }
      })
      el.dataset['handles'] = JSON.stringify(spots)
    }
    loop()
    return () => {
      cancelAnimationFrame(raf)
      ro.disconnect()
      renderer.domElement.removeEventListener('pointerdown', onPointerDown, { capture: true })
      renderer.domElement.removeEventListener('pointermove', onPointerMove)
      renderer.domElement.removeEventListener('pointerup', onPointerUp)
      gizmo.dispose()
      orbit.dispose()
      renderer.dispose()
      el.removeChild(renderer.domElement)
    }
  }, [])

  // the subject: the input image on a plane at the focus distance, else the box
  useEffect(() => {
    const s = state.current
    const el = host.current
    if (!s || !el) return
    const clear = () => {
      if (!s.picture) return
      s.scene.remove(s.picture)
      s.picture.geometry.dispose()
      const m = s.picture.material as THREE.MeshBasicMaterial
      m.map?.dispose()
      m.dispose()
      s.picture = null
    }
    if (!p.subjectImage) {
      clear()
      s.subject.visible = true
      el.dataset['subject'] = 'box'
      return
    }
    let live = true
    new THREE.TextureLoader().load(
      p.subjectImage,
      (tex) => {
        if (!live) return tex.dispose()
        clear()
        tex.colorSpace = THREE.SRGBColorSpace
        const img = tex.image as { width: number; height: number }
        const h = 2
        const w = (h * img.width) / Math.max(img.height, 1)
        const plane = new THREE.Mesh(
          new THREE.PlaneGeometry(w, h),
          new THREE.MeshBasicMaterial({ map: tex, side: THREE.DoubleSide }),
        )
        const t = props.current.trajectory.target
        plane.position.set(t[0], t[1], t[2])
        s.scene.add(plane)
        s.picture = plane
        s.subject.visible = false
        el.dataset['subject'] = 'image'
      },
      undefined,
      () => {
        if (live) el.dataset['subject'] = 'box'
      },
    )
    return () => {
      live = false
    }
  }, [p.subjectImage])

  // view presets
  useEffect(() => {
    const s = state.current
    if (!s) return
    const c = s.editorCam
    if (p.view === 'top') c.position.set(0, 12, -2.001)
    else if (p.view === 'side') c.position.set(10, 0.5, -2)
    else if (p.view === 'perspective') c.position.set(5, 4, 5)
    s.orbit.target.set(0, 0, -2)
    s.orbit.update()
  }, [p.view])

  // the path, frustums and handles from the trajectory
  useEffect(() => {
    const s = state.current
    if (!s) return
    s.pathGroup.clear()
    const poses = sampleTrajectory(p.trajectory, Math.max(p.frames, 2))
    const curve = new THREE.BufferGeometry().setFromPoints(
      poses.map((q) => new THREE.Vector3(...q.position)),
    )
    s.pathGroup.add(new THREE.Line(curve, new THREE.LineBasicMaterial({ color: 0x5aa7ff })))
    const travel = p.travel ?? 1
    const rendered = withTravel(poses, travel)
    if (travel !== 1) {
      const line = new THREE.Line(
        new THREE.BufferGeometry().setFromPoints(
          rendered.map((q) => new THREE.Vector3(...q.position)),
        ),
        new THREE.LineDashedMaterial({ color: 0x3ad29f, dashSize: 0.12, gapSize: 0.08 }),
      )
      line.computeLineDistances()
      s.pathGroup.add(line)
    }
    const at = Math.min(p.playhead, poses.length - 1)
    poses.forEach((q, i) => {
      const current = i === at
      const f = frustumLines(
        q.fov,
        p.aspect ?? 16 / 9,
        current ? 0.6 : 0.35,
        current ? 0xf0b93a : 0x4a5568,
      )
      f.position.set(...q.position)
      f.quaternion.set(...q.rotation)
      s.pathGroup.add(f)
    })
    const shown = rendered[at]!
    if (travel !== 1) {
      const f = frustumLines(shown.fov, p.aspect ?? 16 / 9, 0.6, 0x3ad29f)
      f.position.set(...shown.position)
      f.quaternion.set(...shown.rotation)
      s.pathGroup.add(f)
    }
    // the view through the camera is the clip's: from where the model renders it
    s.shotCam.position.set(...shown.position)
    s.shotCam.quaternion.set(...shown.rotation)
    s.shotCam.fov = shown.fov
    // keyframe handles (kept across updates so the gizmo stays attached while dragging)
    const ids = new Set(p.trajectory.keyframes.map((k) => k.id))
    for (const [id, m] of s.handles) {
      if (!ids.has(id)) {
        if (s.gizmo.object === m) s.gizmo.detach()
        s.scene.remove(m)
        s.handles.delete(id)
      }
    }
    for (const k of p.trajectory.keyframes) {
      let m = s.handles.get(k.id)
      if (!m) {
        m = new THREE.Mesh(
          new THREE.SphereGeometry(0.09, 16, 12),
          new THREE.MeshBasicMaterial({ color: 0xffffff }),
        )
        m.userData['id'] = k.id
        s.handles.set(k.id, m)
        s.scene.add(m)
      }
      const dragging =
        (s.gizmo as unknown as { dragging: boolean }).dragging && s.gizmo.object === m
      if (!dragging) {
        m.position.set(...k.position)
        m.quaternion.set(...k.rotation)
      }
      ;(m.material as THREE.MeshBasicMaterial).color.set(k.id === p.selected ? 0xf0b93a : 0xffffff)
    }
    const sel = p.selected ? s.handles.get(p.selected) : undefined
    if (sel && s.gizmo.object !== sel) s.gizmo.attach(sel)
    if (!sel && s.gizmo.object) s.gizmo.detach()
    s.gizmo.setMode(p.gizmo)
  }, [p.trajectory, p.frames, p.playhead, p.selected, p.gizmo, p.aspect, p.travel])

  return (
    <div
      className="viewport3d"
      ref={host}
      data-testid="camera-viewport"
      data-aspect={(p.aspect ?? 16 / 9).toFixed(3)}
      data-travel={(p.travel ?? 1).toFixed(2)}
    />
  )
}
