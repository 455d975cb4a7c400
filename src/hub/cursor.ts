/**
 * The position of a single-channel stream that has seen nothing of its channel yet: before its
 * first event. No broker id is a lone `-` (memory ids are `<epoch>-<n>`, Redis ids `<ms>-<n>`),
 * and an `id:` field cannot be empty without clearing the client's position.
 */
export const START_POSITION = '-';

/**
 * The order positions are written in: the channels sorted, so that a client that lists its
 * channels in another order when it reconnects resumes each from its own position.
 */
export function canonicalChannels(channels: readonly string[]): string[] {
  return channels.toSorted();
}

/**
 * The id a client of a hub stream sees. One channel: the broker's id itself (so one frame is
 * shared by every stream of the channel), or {@link START_POSITION}. Several channels: the
 * position reached in each, in {@link canonicalChannels} order, joined by `,` (no broker id
 * contains one); a position is empty when nothing of that channel was seen.
 *
 * @example
 * ```ts
 * encodeCursor(['1700-0', undefined]); // '1700-0,'
 * parseCursor('1700-0,', 2);           // ['1700-0', undefined]
 * encodeCursor([undefined]);           // '-'
 * ```
 */
export function encodeCursor(positions: ReadonlyArray<string | undefined>): string {
  if (positions.length === 1) return positions[0] ?? START_POSITION;
  return positions.map((position) => position ?? '').join(',');
}

/** The positions of a cursor, or `undefined` when it does not fit a stream of `channels` channels. */
export function parseCursor(
  cursor: string,
  channels: number,
): Array<string | undefined> | undefined {
  if (channels === 1 && cursor === START_POSITION) return [undefined];
  const parts = cursor.split(',');
  if (parts.length !== channels) return undefined;
  return parts.map((part) => (part === '' ? undefined : part));
}
