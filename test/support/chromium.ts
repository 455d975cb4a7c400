import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { expect } from 'vitest';

// Debian's chromium, never a browser downloaded by Playwright. CHROMIUM_PATH exists so that the
// missing-browser paths can be exercised on a machine that has it.
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** True when a browser suite must be skipped (no Chromium, and not under `CI=true`). */
export function skipWithoutChromium(file: string, purpose: string): boolean {
  const missing = !existsSync(CHROMIUM);
  if (missing && process.env.CI !== 'true') {
    console.warn(
      `[${file}] Skipped: no Chromium at ${CHROMIUM}. Install Debian's chromium ` +
        `(apt-get install -y chromium) to ${purpose}.`,
    );
    return true;
  }
  return false;
}

/** Fails with the reason when Chromium is missing (reached only under `CI=true`). */
export function expectChromium(): void {
  expect(
    existsSync(CHROMIUM),
    `CI=true but no Chromium at ${CHROMIUM}: the browser test cannot be skipped in CI. ` +
      "Install Debian's chromium (apt-get install -y chromium) before running the tests.",
  ).toBe(true);
}

/** Launches headless Chromium with the flags a shared test machine needs, plus `extraArgs`. */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
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
      ...extraArgs,
    ],
  });
}
