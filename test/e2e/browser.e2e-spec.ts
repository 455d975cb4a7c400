import { type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppModule } from '../../example/app.module.js';
import { HELLO_INTERVAL_MS } from '../../example/hello.constants.js';
import {
  CHROMIUM,
  expectChromium,
  launchChromium,
  skipWithoutChromium,
} from '../support/chromium.js';

const MISSING = !existsSync(CHROMIUM);
const SKIP = skipWithoutChromium('browser.e2e-spec', 'run the demo page in a real browser');

describe.skipIf(SKIP)('the demo page in a real Chromium', () => {
  let app: INestApplication;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    // Under CI=true a missing browser reaches the test below, which fails with the reason.
    if (MISSING) return;
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
      .overrideProvider(HELLO_INTERVAL_MS)
      .useValue(100)
      .compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    // The browser first: its open EventSource would otherwise keep the server waiting.
    await browser?.close();
    await app?.close();
  }, 30_000);

  it('opens /demo, whose EventSource shows hello with id 1 and reads open', async () => {
    expectChromium();
    const page = await browser.newPage();
    const pageErrors: Error[] = [];
    page.on('pageerror', (error) => pageErrors.push(error));

    const response = await page.goto(`${base}/demo`);
    expect(response?.status()).toBe(200);

    const first = page.locator('#events li').first();
    await first.waitFor({ timeout: 15_000 });
    expect(await first.textContent()).toBe('hello (id 1)');
    expect(await page.locator('#state').textContent()).toBe('open');

    // More keep coming, and the state still reads open.
    await page.locator('#events li').nth(1).waitFor({ timeout: 15_000 });
    const items = await page.locator('#events li').allTextContents();
    expect(items.length).toBeGreaterThanOrEqual(2);
    expect(new Set(items)).toEqual(new Set(['hello (id 1)']));
    expect(await page.locator('#state').textContent()).toBe('open');
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 60_000);
});
