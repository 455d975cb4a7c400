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
