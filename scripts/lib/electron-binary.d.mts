export function electronBinaryPath(root: string): string | null
export function hasDisplay(): boolean
