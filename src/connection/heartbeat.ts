/** A connection the heartbeat watches. */
export interface HeartbeatMember {
  /** The tick of its group at its last write; the connection keeps it current. */
  lastActiveTick: number;
  sendHeartbeat(): void;
}

/** The connections that share one heartbeat interval, and the one timer that serves them. */
export interface HeartbeatGroup {
  tick: number;
  readonly members: Set<HeartbeatMember>;
}

/**
 * One timer per distinct heartbeat interval, however many connections use it. The timer ticks
 * every half interval, and a connection that wrote nothing during two ticks gets a comment: so
 * no connection stays silent for longer than its interval, and a busy one gets no heartbeat.
 */
export class HeartbeatScheduler {
  private readonly groups = new Map<number, HeartbeatGroup & { timer: NodeJS.Timeout }>();

  /** Adds a connection; returns the group whose `tick` it records its writes against. */
  join(member: HeartbeatMember, intervalMs: number): HeartbeatGroup {
    let group = this.groups.get(intervalMs);
    if (group === undefined) {
      const members = new Set<HeartbeatMember>();
      const created = { tick: 0, members, timer: undefined as unknown as NodeJS.Timeout };
      created.timer = setInterval(() => beat(created), Math.max(1, Math.floor(intervalMs / 2)));
      created.timer.unref();
      this.groups.set(intervalMs, created);
      group = created;
    }
    group.members.add(member);
    member.lastActiveTick = group.tick;
    return group;
  }

  leave(member: HeartbeatMember, intervalMs: number): void {
    const group = this.groups.get(intervalMs);
    if (group === undefined) return;
    group.members.delete(member);
    if (group.members.size === 0) {
      clearInterval(group.timer);
      this.groups.delete(intervalMs);
    }
  }

  /** The number of timers running, one per interval in use. */
  get timers(): number {
    return this.groups.size;
  }

  stop(): void {
    for (const group of this.groups.values()) clearInterval(group.timer);
    this.groups.clear();
  }
}

function beat(group: HeartbeatGroup): void {
  const tick = ++group.tick;
  for (const member of group.members) {
    if (tick - member.lastActiveTick >= 2) {
      member.sendHeartbeat();
    }
  }
}
