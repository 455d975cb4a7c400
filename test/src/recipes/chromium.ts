import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { expect } from 'vitest';

/** Debian's chromium, never a browser downloaded by Playwright (CHROMIUM_PATH overrides it). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Whether the browser suites of `file` are skipped: when Chromium is missing, with a printed
 * reason, except under `CI=true`, where they run and {@link expectChromium} fails them.
 */
export function skipWithoutChromium(file: string): boolean {
  const missing = !existsSync(CHROMIUM);
  if (missing && process.env.CI !== 'true') {
    console.warn(
      `[${file}] Skipped: no Chromium at ${CHROMIUM}. Install Debian's chromium ` +
        '(apt-get install -y chromium) to run it in a real browser.',
    );
    return true;
  }
  return false;
}

/** Fails the test, with the reason, when Chromium is missing (reached only under CI=true). */
export function expectChromium(): void {
  expect(
    existsSync(CHROMIUM),
    `CI=true but no Chromium at ${CHROMIUM}: the browser tests cannot be skipped in CI. ` +
      "Install Debian's chromium (apt-get install -y chromium) before running the tests.",
  ).toBe(true);
}

/** A headless Chromium that makes no network request of its own. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
