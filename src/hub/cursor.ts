/**
 * The id a client of a multi-channel stream sees: the position reached in each of its channels,
 * in the stream's channel order, joined by `,` (no broker id contains one). A position is empty
 * when nothing of that channel was seen.
 *
 * @example
 * ```ts
 * encodeCursor(['1700-0', '']); // '1700-0,'
 * parseCursor('1700-0,', 2);    // ['1700-0', undefined]
 * ```
 */
export function encodeCursor(positions: ReadonlyArray<string | undefined>): string {
  return positions.map((position) => position ?? '').join(',');
}

/** The positions of a cursor, or `undefined` when it does not fit a stream of `channels` channels. */
export function parseCursor(
  cursor: string,
  channels: number,
): Array<string | undefined> | undefined {
  const parts = cursor.split(',');
  if (parts.length !== channels) return undefined;
  return parts.map((part) => (part === '' ? undefined : part));
}
