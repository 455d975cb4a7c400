import type { INestApplication } from '@nestjs/common';
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatEvent, streamChat } from '../src/recipes/chat-client.js';
import { ChatController } from '../src/recipes/chat.controller.js';
import { answerTo, FakeModel } from '../src/recipes/fake-model.js';
import {
  CHROMIUM,
  expectChromium,
  launchChromium,
  skipWithoutChromium,
} from '../support/chromium.js';
import { startRecipe } from '../src/recipes/recipes-app.js';

// The README recipe "An LLM answer over POST": a token stream answering a POST, read by the
// recipe's fetch() client in a real Chromium (Debian's, never one Playwright downloads).

const SKIP = skipWithoutChromium('recipes-llm.e2e-spec', 'run it in a real browser');

/** What the page reports of one chat: the events it read, and how the read ended. */
interface ChatRun {
  events: ChatEvent[];
  outcome: string;
}

describe.skipIf(SKIP)('recipe: an LLM token stream over POST, in Chromium', () => {
  let app: INestApplication;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    // Under CI=true a missing browser reaches the tests, which fail with the reason.
    if (!existsSync(CHROMIUM)) return;
    app = await startRecipe({ heartbeatMs: 0 }, [ChatController], [FakeModel]);
    base = await app.getUrl();
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  }, 30_000);

  /** Runs the recipe's client in a page of the app's origin, stopping after `stopAfter` tokens. */
  async function chat(prompt: string, stopAfter?: number): Promise<ChatRun> {
    expectChromium();
    const page = await browser.newPage();
    const pageErrors: Error[] = [];
    page.on('pageerror', (error) => pageErrors.push(error));
    try {
      await page.goto(`${base}/chat`);
      const run = await page.evaluate(
        async ({ client, text, limit }) => {
          // The client's own source, as the README shows it.
          const streamChatInPage = new Function(`return (${client})`)() as typeof streamChat;
          const events: ChatEvent[] = [];
          const abort = new AbortController();
          let outcome = 'ended';
          await streamChatInPage(
            '/chat',
            text,
            (event) => {
              events.push(event);
              if (event.event === 'token' && events.length === limit) abort.abort();
            },
            abort.signal,
          ).catch((error: Error) => {
            outcome = error.name;
          });
          return { events, outcome };
        },
        { client: streamChat.toString(), text: prompt, limit: stopAfter },
      );
      expect(pageErrors).toEqual([]);
      return run;
    } finally {
      await page.close();
    }
  }

  it('reads every token, in order, then the done event', async () => {
    const model = app.get(FakeModel);
    const { events, outcome } = await chat('what is SSE?');
    const tokens = answerTo('what is SSE?');
    expect(outcome).toBe('ended');
    expect(events.slice(0, -1)).toEqual(tokens.map((data) => ({ event: 'token', data })));
    expect(events.at(-1)).toEqual({
      event: 'done',
      data: JSON.stringify({ tokens: tokens.length }),
    });
    await model.ended(1);
    expect(model.outcomes).toEqual(['done']);
  }, 60_000);

  it('stops the model when the client aborts the fetch', async () => {
    const model = app.get(FakeModel);
    const before = model.outcomes.length;
    const { events, outcome } = await chat('stop early', 5);
    expect(outcome).toBe('AbortError');
    // Events already read when the abort came are still handed over; the rest never arrive.
    expect(events.length).toBeGreaterThanOrEqual(5);
    expect(events.length).toBeLessThan(answerTo('stop early').length);
    expect(events.every((event) => event.event === 'token')).toBe(true);
    await model.ended(before + 1);
    expect(model.outcomes.slice(before)).toEqual(['aborted']);
  }, 60_000);
});
