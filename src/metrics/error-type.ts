/**
 * `error.type` of a failure: its `code` when it has one (Node's `ECONNREFUSED`, this library's
 * `SseError` codes), else its class name; both are bounded, unlike messages.
 */
export function errorTypeOf(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.length > 0) return code;
    const name = error.constructor?.name;
    if (typeof name === 'string' && name.length > 0 && name !== 'Object') return name;
  }
  return '_OTHER';
}
