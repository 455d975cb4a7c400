import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { StreamRegistry } from '../../src/index.js';
import { AnsweredController } from '../src/conformance/answered.controller.js';
import { ConformanceAppModule } from '../src/conformance/conformance-app.module.js';
import { CallLog } from '../support/call-log.js';
import { eventually } from '../support/eventually.js';
import { CONFORMANCE_PLATFORMS, type PlatformApp } from '../support/platforms.js';

// Fastify's own reply machinery around a stream: a reply that user code already answered (no
// crash, a clear log, no stream), and onSend hooks (they shape plain answers; a stream, whose
// reply is hijacked, never passes through them).

const FASTIFY = CONFORMANCE_PLATFORMS.filter((platform) => platform.adapter === 'fastify');

describe.each(FASTIFY)('Fastify replies on $name', (platform) => {
  let started: PlatformApp | undefined;
  let errors: string[] = [];

  afterEach(async () => {
    await started?.close();
    started = undefined;
    errors = [];
  });

  async function start(): Promise<PlatformApp> {
    started = await platform.createApp(
      ConformanceAppModule.with({ heartbeatMs: 0 }, [AnsweredController]),
      (app) => {
        const fastify = (app as NestFastifyApplication).getHttpAdapter().getInstance();
        // What a compressing plugin does: rewrite the payload of what Fastify sends.
        fastify.addHook('onSend', async (_request, reply, payload) => {
          reply.header('x-on-send', 'ran');
          return typeof payload === 'string' ? `[${payload}]` : payload;
        });
      },
    );
    const registry = started.app.get(StreamRegistry);
    registry.logger.error = (message: unknown) => void errors.push(String(message));
    return started;
  }

  it('leaves alone a stream whose reply a guard already answered, with one clear error', async () => {
    const app = await start();
    const res = await app.request('/answered/hijacked', { accept: 'text/event-stream' });
    expect(res.status).toBe(200);
    expect(res.body).toBe('answered by the guard');
    await eventually(() => errors.length > 0, 'the error log');
    expect(errors).toEqual([
      expect.stringContaining('AnsweredController.hijacked: the response was already sent'),
    ]);
    // The handler did not run and no stream was counted: nothing leaks.
    expect(app.app.get(CallLog).count('answered.hijacked')).toBe(0);
    expect(app.app.get(StreamRegistry).stats()).toMatchObject({ open: 0, eventsWritten: 0 });
  });

  it('does not crash on a reply a guard sent with reply.send(), nor send a second answer', async () => {
    const app = await start();
    const res = await app.request('/answered/sent', { accept: 'text/event-stream' });
    // The guard's answer, through Fastify (its onSend hook ran), and nothing of the stream.
    expect(res.body).toBe('[{"sentBy":"guard"}]');
    await eventually(() => errors.length > 0, 'the error log');
    expect(errors).toEqual([expect.stringContaining('AnsweredController.sent: the response was')]);
    expect(app.app.get(CallLog).count('answered.sent')).toBe(0);
    // The server still serves: a stream and a plain answer on the same app.
    const stream = await app.openEventStream({ path: '/c/events' });
    await stream.waitForEnd();
    expect(stream.events).toHaveLength(4);
    expect(app.app.get(StreamRegistry).stats().open).toBe(0);
  });

  it('runs onSend hooks on plain answers, never on a stream', async () => {
    const app = await start();
    const plain = await app.request('/answered/plain');
    expect(plain.headers['x-on-send']).toBe('ran');
    expect(plain.body).toBe('[plain]');
    const stream = await app.openEventStream({ path: '/c/events' });
    await stream.waitForEnd();
    expect(stream.headers).not.toHaveProperty('x-on-send');
    expect(stream.headers).not.toHaveProperty('content-encoding');
    expect(stream.events.map((e) => e.data)[0]).toBe('one');
  });
});
