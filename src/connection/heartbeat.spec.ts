import { afterEach, describe, expect, it, vi } from 'vitest';
import { type HeartbeatMember, HeartbeatScheduler } from './heartbeat.js';

function member(): HeartbeatMember & { beats: number } {
  return {
    lastActiveTick: 0,
    beats: 0,
    sendHeartbeat() {
      this.beats++;
    },
  };
}

describe('HeartbeatScheduler', () => {
  afterEach(() => vi.useRealTimers());

  it('never leaves a silent member without a heartbeat for longer than its interval', () => {
    vi.useFakeTimers();
    const scheduler = new HeartbeatScheduler();
    const idle = member();
    scheduler.join(idle, 1000);
    vi.advanceTimersByTime(999);
    expect(idle.beats).toBe(0);
    vi.advanceTimersByTime(1);
    expect(idle.beats).toBe(1);
    scheduler.stop();
  });

  it('sends nothing to a member that writes more often than its interval', () => {
    vi.useFakeTimers();
    const scheduler = new HeartbeatScheduler();
    const busy = member();
    const group = scheduler.join(busy, 1000);
    for (let t = 0; t < 10; t++) {
      vi.advanceTimersByTime(400);
      busy.lastActiveTick = group.tick; // what a write does
    }
    expect(busy.beats).toBe(0);
    scheduler.stop();
  });

  it('runs one timer per distinct interval, and stops it with its last member', () => {
    vi.useFakeTimers();
    const scheduler = new HeartbeatScheduler();
    const members = Array.from({ length: 50 }, member);
    members.forEach((m, i) => scheduler.join(m, i % 2 === 0 ? 1000 : 2000));
    expect(scheduler.timers).toBe(2);
    expect(vi.getTimerCount()).toBe(2);
    members.forEach((m, i) => scheduler.leave(m, i % 2 === 0 ? 1000 : 2000));
    expect(scheduler.timers).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});
