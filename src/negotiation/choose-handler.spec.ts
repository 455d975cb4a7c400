import { describe, expect, it } from 'vitest';
import { chooseHandler } from './choose-handler.js';

describe('chooseHandler', () => {
  const withPlain: Array<[string | undefined, string]> = [
    ['text/event-stream', 'stream'],
    ['TEXT/Event-Stream', 'stream'],
    ['text/event-stream; charset=utf-8', 'stream'],
    ['text/event-stream, */*;q=0.1', 'stream'],
    ['application/json;q=0.5, text/event-stream', 'stream'],
    ['text/event-stream;q=0.9, text/html;q=0.8', 'stream'],
    [undefined, 'plain'],
    ['', 'plain'],
    ['*/*', 'plain'],
    ['text/*', 'plain'],
    ['text/event-stream, text/html', 'plain'],
    ['text/html, text/event-stream', 'plain'],
    ['text/event-stream, */*', 'plain'],
    ['text/html, text/event-stream;q=0.9', 'plain'],
    ['text/event-stream;q=0', 'plain'],
    ['text/event-stream;q=0, */*', 'plain'],
    ['application/json', 'plain'],
    ['garbage;;;,,', 'plain'],
  ];
  it.each(withPlain)('with a plain handler, Accept %j goes to %s', (accept, expected) => {
    expect(chooseHandler(accept, true)).toBe(expected);
  });

  const streamOnly: Array<[string | undefined, string]> = [
    ['text/event-stream', 'stream'],
    [undefined, 'stream'],
    ['*/*', 'stream'],
    ['text/*', 'stream'],
    ['text/event-stream, text/html', 'stream'],
    ['application/json', 'not-acceptable'],
    ['text/event-stream;q=0', 'not-acceptable'],
    ['text/event-stream;q=0, */*', 'not-acceptable'],
    ['text/html, application/json;q=0.2', 'not-acceptable'],
  ];
  it.each(streamOnly)('without a plain handler, Accept %j goes to %s', (accept, expected) => {
    expect(chooseHandler(accept, false)).toBe(expected);
  });
});
