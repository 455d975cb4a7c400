import 'reflect-metadata';
import { type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { chooseHandler } from '../../src/negotiation/choose-handler.js';
import { NegotiationAppModule } from '../src/negotiation/negotiation-app.module.js';

// Every Accept header handed to the negotiator, so the work done per request can be counted.
const handed = vi.hoisted(() => [] as string[]);
vi.mock('negotiator', async (importOriginal) => {
  const { default: Negotiator } = await importOriginal<{
    default: new (request: { headers: { accept?: string } }) => object;
  }>();
  return {
    default: function CountingNegotiator(incoming: { headers: { accept?: string } }) {
      handed.push(incoming.headers.accept ?? '');
      return new Negotiator(incoming);
    },
  };
});

const EVENT_STREAM = 'text/event-stream';
/** Media ranges handed to the negotiator since the last reset, as it splits them. */
const rangesHanded = () => handed.reduce((sum, accept) => sum + accept.split(',').length, 0);

let app: INestApplication;

beforeAll(async () => {
  const moduleRef = await Test.createTestingModule({ imports: [NegotiationAppModule] }).compile();
  app = moduleRef.createNestApplication({ logger: false });
  await app.init();
});

afterAll(async () => {
  await app.close();
});

beforeEach(() => {
  handed.length = 0;
});

describe('Accept parsing: bounded work', () => {
  // Node's default limit for all headers is 16 KiB: this is about as long as one Accept can be.
  const commas = `${EVENT_STREAM}${','.repeat(15_000)}`;

  it('hands the negotiator no range of an Accept past the length cap, and answers as if absent', async () => {
    const plain = await request(app.getHttpServer()).get('/feed').set('Accept', commas);
    expect(plain.status).toBe(200);
    expect(plain.body).toEqual({ handler: 'feed.plain' });
    const streamOnly = await request(app.getHttpServer())
      .get('/stream-only')
      .set('Accept', commas)
      .buffer(true);
    expect(streamOnly.status).toBe(200);
    expect(streamOnly.headers['content-type']).toBe(EVENT_STREAM);
    expect(rangesHanded()).toBe(0);
  });

  it.each([1, 2, 8, 32])(
    'hands the negotiator at most twice the %i ranges a header holds (linear), empty ones dropped',
    (count) => {
      const ranges = [
        EVENT_STREAM,
        ...Array.from({ length: count - 1 }, (_, n) => `a/b${n};q=0.5`),
      ];
      const accept = ranges.join(',,, ');
      expect(chooseHandler(accept, true)).toBe('stream');
      expect(handed.length).toBeLessThanOrEqual(2);
      expect(rangesHanded()).toBeLessThanOrEqual(2 * count);
    },
  );

  it('reads no range of a header with more than 32 ranges: no stated preference', () => {
    const accept = [EVENT_STREAM, ...Array.from({ length: 32 }, (_, n) => `a/b${n};q=0.1`)].join(
      ',',
    );
    expect(accept.length).toBeLessThan(2048);
    expect(chooseHandler(accept, true)).toBe('plain');
    expect(chooseHandler(accept, false)).toBe('stream');
    expect(rangesHanded()).toBe(0);
  });

  it('caps the work of 1000 distinct headers, each varied by a byte, at the cap per header', () => {
    for (let n = 0; n < 1000; n++) {
      chooseHandler(`${EVENT_STREAM}${','.repeat(1000 + n)}`, true);
    }
    // Each header's commas are dropped in the one pass that splits it: one range each, twice.
    expect(rangesHanded()).toBeLessThanOrEqual(2 * 1000);
  });

  it('keeps quoted commas inside their range', () => {
    expect(chooseHandler(`text/html;x="a,b", ${EVENT_STREAM};q=0.5`, false)).toBe('stream');
    expect(chooseHandler(`text/html;x="a,${EVENT_STREAM}"`, false)).toBe('not-acceptable');
  });
});
