/** The lower-cased tokens of a `Vary` header, however many times and ways it was sent. */
export function varyTokens(vary: string | string[] | undefined): string[] {
  return [vary ?? '']
    .flat()
    .join(',')
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .filter((token) => token.length > 0);
}
