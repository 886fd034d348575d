// This page's name for itself, made once per page load. Main keeps each page's autosave apart
// (project.autosave / recovery / save take it), so a reload, which is a new page, is offered
// what the page before it autosaved instead of overwriting it. getRandomValues works in any
// context (randomUUID only in secure ones: the web host reached by a LAN address is not).
const bytes = crypto.getRandomValues(new Uint8Array(16))
export const PAGE_SESSION: string = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(
  '',
)
