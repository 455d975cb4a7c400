import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserAppModule } from '../src/conformance/browser-app.module.js';
import { BrowserStreams } from '../src/conformance/browser-streams.js';
import {
  CHROMIUM,
  expectChromium,
  launchChromium,
  skipWithoutChromium,
} from '../support/chromium.js';
import { PLATFORMS } from '../support/platforms.js';
import { generateCertificate, type TestCertificate } from '../support/tls-certificate.js';

// A real Chromium over TLS, served by the library (Fastify http2 with allowHTTP1, and Express
// HTTPS for the contrast): 50 EventSources on one origin all open over HTTP/2, where HTTP/1.1
// stops at the browser's 6 connections per origin.

const FILE = 'browser-h2.e2e-spec';
const SKIP = skipWithoutChromium(FILE, 'open EventSources over HTTP/2 in a real browser');
const SOURCES = 50;
/** Chromium's limit of HTTP/1.1 connections per origin (its socket pool's per-group limit). */
const HTTP1_CONNECTIONS = 6;

/** A TLS server with the page at /page and the streams at /events. */
interface BrowserServer {
  readonly origin: string;
  readonly streams: BrowserStreams;
  close(): Promise<void>;
}

/** `'h2'`: HTTP/2 with `allowHTTP1`; `'http/1.1'`: HTTPS without HTTP/2 (the contrast). */
type Protocol = 'h2' | 'http/1.1';
type StartBrowserServer = (
  certificate: TestCertificate,
  protocol: Protocol,
) => Promise<BrowserServer>;

/**
 * The library serving the same page and streams (test/src/conformance/browser.controller.ts):
 * Fastify HTTP/2 over TLS (`allowHTTP1`), and Express HTTPS for the contrast.
 */
const startNestServer: StartBrowserServer = async (certificate, protocol) => {
  let app: INestApplication;
  if (protocol === 'h2') {
    app = (await PLATFORMS.find((p) => p.name === 'fastify-h2-tls')!.createApp(BrowserAppModule))
      .app;
  } else {
    app = await NestFactory.create(BrowserAppModule, {
      logger: false,
      httpsOptions: { key: certificate.key, cert: certificate.cert },
    });
    await app.listen(0, '127.0.0.1');
  }
  const { port } = (app.getHttpServer() as { address(): AddressInfo }).address();
  return {
    origin: `https://127.0.0.1:${port}`,
    streams: app.get(BrowserStreams),
    close: () => app.close(),
  };
};

const startServer: StartBrowserServer = startNestServer;

interface SourceState {
  readyState: number;
  messages: string[];
}

// What runs in the page is given as source text: these tests compile without the DOM typings.

function sourceStates(page: Page): Promise<SourceState[]> {
  return page.evaluate(
    'window.sources.map(({ source, messages }) => ({ readyState: source.readyState, messages }))',
  );
}

/** The protocol the page itself came over (`h2`, `http/1.1`). */
function pageProtocol(page: Page): Promise<string> {
  return page.evaluate("performance.getEntriesByType('navigation')[0].nextHopProtocol");
}

/** Resolves once `count` sources hold a message whose data is `data`. */
async function waitForSources(page: Page, count: number, data: string): Promise<void> {
  await page.waitForFunction(
    `window.sources.filter((s) => s.messages.includes(${JSON.stringify(data)})).length >= ${count}`,
    undefined,
    { timeout: 15_000 },
  );
}

describe.skipIf(SKIP)('a real Chromium opening 50 EventSources on one origin', () => {
  let browser: Browser;
  let context: BrowserContext;
  let certificate: TestCertificate;
  const servers: BrowserServer[] = [];

  beforeAll(async () => {
    // Under CI=true a missing browser reaches the tests below, which fail with the reason.
    if (!existsSync(CHROMIUM)) return;
    certificate = await generateCertificate();
    browser = await launchChromium(['--ignore-certificate-errors']);
  }, 60_000);

  afterAll(async () => {
    // The browser first: its open EventSources would otherwise keep the servers waiting.
    await context?.close();
    await browser?.close();
    for (const server of servers) await server.close();
  }, 30_000);

  /**
   * Serves the page over `protocol`, and resolves once `connected` of its sources opened, got
   * their first event and then one published to all: with their states as the page sees them.
   */
  async function open(
    protocol: Protocol,
    connected: number,
  ): Promise<{ server: BrowserServer; page: Page; states: SourceState[] }> {
    expectChromium();
    const server = await startServer(certificate, protocol);
    servers.push(server);
    // A context per case: Chromium's connections (and its HTTP/2 session) are per context.
    context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    const response = await page.goto(`${server.origin}/page?count=${SOURCES}`);
    expect(response?.status()).toBe(200);
    expect(await pageProtocol(page)).toBe(protocol);
    await server.streams.whenOpened(connected);
    await waitForSources(page, connected, 'welcome');
    server.streams.published.next('to all');
    await waitForSources(page, connected, 'to all');
    return { server, page, states: await sourceStates(page) };
  }

  it('over HTTP/2 every one of the 50 opens and receives its events', async () => {
    const { server, states } = await open('h2', SOURCES);
    expect(states.filter((s) => s.readyState === 1)).toHaveLength(SOURCES);
    expect(states.every((s) => s.messages.join() === 'welcome,to all')).toBe(true);
    expect(server.streams.opened).toEqual(Array.from({ length: SOURCES }, () => '2.0'));
    await context.close();
  }, 60_000);

  it('over HTTP/1.1 only 6 open; the 7th waits until one of them closes', async () => {
    const { server, page, states } = await open('http/1.1', HTTP1_CONNECTIONS);
    // The 6 connections are taken by open streams that never end: no 7th can have started.
    expect(states.filter((s) => s.readyState === 1)).toHaveLength(HTTP1_CONNECTIONS);
    expect(states.filter((s) => s.readyState === 0)).toHaveLength(SOURCES - HTTP1_CONNECTIONS);
    expect(server.streams.opened).toHaveLength(HTTP1_CONNECTIONS);
    expect(server.streams.openNow).toBe(HTTP1_CONNECTIONS);

    // Closing one frees its connection for the next waiting source.
    await page.evaluate(
      'window.sources.find(({ source }) => source.readyState === 1).source.close()',
    );
    await server.streams.whenOpened(HTTP1_CONNECTIONS + 1);
    expect(server.streams.opened.every((version) => version === '1.1')).toBe(true);
    await context.close();
  }, 60_000);
});
