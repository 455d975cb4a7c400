import { readFileSync } from 'node:fs';

/**
 * This package's version, for the meter's. Read from its package.json, two levels above this
 * file both in `src/metrics/` and in `dist/metrics/`; `undefined` if a bundler moved it.
 */
export function packageVersion(): string | undefined {
  try {
    const manifest = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { name?: unknown; version?: unknown };
    return manifest.name === 'nestjs-event-stream' && typeof manifest.version === 'string'
      ? manifest.version
      : undefined;
  } catch {
    return undefined;
  }
}
