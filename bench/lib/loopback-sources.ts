/**
 * Source addresses for many client sockets on one machine. Each connection from one address to
 * the server's address and port takes an ephemeral port of its own (32768–60999 here), and
 * Linux finds one by probing: connect() tries even ports first, so past about 14,100 sockets
 * from one address every connect() scans the full even half before it finds an odd one (about
 * 1 ms of the client's kernel time each: at 15,000 streams, 2.0–2.6 s of system time instead of
 * 0.8–1.0 s), and bind() to a port 0 (as `localAddress` does) tries odd ports first, from a
 * random start, with no sharing across destinations: 15,000 bound sockets on one address cost
 * the client 15–54 s of system time and the open 17–58 s. Real clients come from many
 * addresses; 127.0.0.2, 127.0.0.3, … (all of 127/8 is local on Linux) with at most
 * {@link STREAMS_PER_SOURCE_ADDRESS} sockets each keep every search short.
 */
export const STREAMS_PER_SOURCE_ADDRESS = 4000;

/** How many source addresses `count` client sockets need (at most 127.0.0.2–127.0.0.254). */
export function sourceAddressesFor(count: number): number {
  return Math.min(253, Math.max(1, Math.ceil(count / STREAMS_PER_SOURCE_ADDRESS)));
}

/** The local address of the `n`-th client socket, over `sources` addresses (round robin). */
export function loopbackSource(n: number, sources: number): string {
  return `127.0.0.${2 + (n % sources)}`;
}
