import type { Socket } from 'node:net';

let corked: Socket[] = [];

/**
 * Corks a socket until the end of this tick, unless it is corked already, so that everything
 * written to it meanwhile leaves in one `writev`. One `process.nextTick` serves every socket
 * corked during the tick.
 */
export function corkUntilNextTick(socket: Socket): void {
  if (socket.writableCorked) return;
  socket.cork();
  if (corked.push(socket) === 1) process.nextTick(uncorkAll);
}

function uncorkAll(): void {
  const sockets = corked;
  corked = [];
  for (const socket of sockets) socket.uncork();
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
