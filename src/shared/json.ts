/**
 * JSON.parse for files a user hands us: a syntax error becomes `fail`'s error, with a message
 * that says where (the line, when the engine names a position) and what the parser saw. A
 * leading byte-order mark is skipped.
 */
export function parseJsonFile(
  text: string,
  fail: (message: string, line: number | undefined) => Error,
): unknown {
  // a byte-order mark (UTF-8 as Windows' Notepad saves it) is not part of the JSON
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  try {
    return JSON.parse(text)
  } catch (err) {
    const m = /position (\d+)/.exec(String(err))
    const line = m ? text.slice(0, Number(m[1])).split('\n').length : undefined
    const why = err instanceof Error ? err.message : String(err)
    throw fail(`not valid JSON${line ? ` (line ${line})` : ''}: ${why}`, line)
  }
}
