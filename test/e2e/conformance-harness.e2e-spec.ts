import { afterEach, describe, expect, it } from 'vitest';
import { HarnessAppModule } from '../src/conformance/harness-app.module.js';
import { type PlatformApp, PLATFORMS } from '../support/platforms.js';

// The platform table itself, on every row (none pending): each starts a Nest app with its
// adapter, and its clients speak its protocol, to a plain route and to Nest's own @Sse().

describe.each(PLATFORMS)('the $name harness', (platform) => {
  let started: PlatformApp | undefined;

  afterEach(async () => {
    await started?.close();
    started = undefined;
  });

  it('answers a plain route over its protocol', async () => {
    started = await platform.createApp(HarnessAppModule);
    expect(started.origin).toMatch(platform.secure ? /^https:/ : /^http:/);
    const res = await started.request('/harness/plain');
    expect(res).toMatchObject({ protocol: platform.protocol, status: 200, body: 'plain' });
  });

  it("reads Nest's @Sse() with nestjs-event-stream/testing over its protocol", async () => {
    started = await platform.createApp(HarnessAppModule);
    const stream = await started.openEventStream({ path: '/harness/builtin' });
    expect(stream.protocol).toBe(platform.protocol);
    expect(stream.status).toBe(200);
    expect((await stream.take(2)).map((e) => e.data)).toEqual(['builtin 0', 'builtin 1']);
    await stream.close();
  });
});
