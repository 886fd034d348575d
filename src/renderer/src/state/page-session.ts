// This page's name for itself, made once per page load. Main keeps each page's autosave apart
// (project.autosave / recovery / save take it), so a reload, which is a new page, is offered
// what the page before it autosaved instead of overwriting it.
export const PAGE_SESSION: string = crypto.randomUUID()
