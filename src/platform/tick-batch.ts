import type { Socket } from 'node:net';

/** The sockets corked this tick: `corked[0 … corkedCount - 1]`, one array for every tick. */
const corked: Array<Socket | undefined> = [];
let corkedCount = 0;

/**
 * Corks a socket until the end of this tick, unless it is corked already, so that everything
 * written to it meanwhile leaves in one `writev`. One `process.nextTick` serves every socket
 * corked during the tick.
 */
export function corkUntilNextTick(socket: Socket): void {
  if (socket.writableCorked) return;
  socket.cork();
  corked[corkedCount++] = socket;
  if (corkedCount === 1) process.nextTick(uncorkAll);
}

function uncorkAll(): void {
  // A socket corked while this runs (a write from an uncork's callback) is uncorked here too.
  for (let i = 0; i < corkedCount; i++) {
    const socket = corked[i]!;
    corked[i] = undefined;
    socket.uncork();
  }
  corkedCount = 0;
}

/** A stream written through a middleware that holds bytes until flushed (compression). */
export interface Flushable {
  /** True while its flush is due at the end of this tick. */
  flushQueued: boolean;
  flushNow(): void;
}

let flushing: Flushable[] = [];

/**
 * Flushes a stream once at the end of this tick, however many frames it wrote meanwhile: a
 * compressor then emits one block per tick, not one per event. One `process.nextTick` serves
 * every stream.
 */
export function flushAtEndOfTick(target: Flushable): void {
  if (target.flushQueued) return;
  target.flushQueued = true;
  if (flushing.push(target) === 1) process.nextTick(flushAll);
}

function flushAll(): void {
  const targets = flushing;
  flushing = [];
  for (const target of targets) target.flushNow();
}
