import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

interface Pair {
  readonly client: Socket;
  readonly server: Socket;
  /** Set once a command matching the cut was forwarded: its reply never reaches the client. */
  cutting: boolean;
  /** Everything the client sent, up to a few KiB: what {@link TcpProxy.pauseWhere} matches. */
  sent: string;
}

/**
 * A TCP proxy on a free loopback port in front of a Redis, for faults no Redis can be asked to
 * make: {@link pause} stalls every connection through it (an instance that stops reading, a
 * network that holds packets) while other clients of the same Redis go on; {@link cutAfter}
 * lets a command through, then cuts the connection before its reply comes back (a publish whose
 * outcome the client cannot know).
 *
 * @example
 * ```ts
 * const proxy = await TcpProxy.start(redis.port);
 * redisBroker({ url: proxy.url });
 * proxy.pause(); … proxy.resume();
 * await proxy.close();
 * ```
 */
export class TcpProxy {
  private readonly pairs = new Set<Pair>();
  private paused = false;
  private cutPattern?: string;

  private constructor(
    private readonly listener: Server,
    private readonly targetPort: number,
  ) {
    listener.on('connection', (client) => this.accept(client));
  }

  static async start(targetPort: number): Promise<TcpProxy> {
    const listener = createServer();
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    return new TcpProxy(listener, targetPort);
  }

  get port(): number {
    return (this.listener.address() as AddressInfo).port;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Stops forwarding, both ways, on every connection (new ones too) until {@link resume}. */
  pause(): void {
    this.paused = true;
    for (const { client, server } of this.pairs) {
      client.pause();
      server.pause();
    }
  }

  /**
   * Stalls only the connections whose client sent `pattern` (e.g. `XREAD`: an instance's
   * reader, while its publisher goes on), until {@link resume}.
   */
  pauseWhere(pattern: string): void {
    for (const pair of this.pairs) {
      if (pair.sent.includes(pattern)) {
        pair.client.pause();
        pair.server.pause();
      }
    }
  }

  resume(): void {
    this.paused = false;
    for (const { client, server } of this.pairs) {
      client.resume();
      server.resume();
    }
  }

  /**
   * The next command containing `pattern` reaches Redis, which runs it; as soon as Redis
   * answers, the connection is cut on both sides and the answer dropped.
   */
  cutAfter(pattern: string): void {
    this.cutPattern = pattern;
  }

  async close(): Promise<void> {
    for (const { client, server } of this.pairs) {
      client.destroy();
      server.destroy();
    }
    this.listener.close();
    await once(this.listener, 'close');
  }

  private accept(client: Socket): void {
    const server = connect(this.targetPort, '127.0.0.1');
    const pair: Pair = { client, server, cutting: false, sent: '' };
    this.pairs.add(pair);
    const end = () => {
      client.destroy();
      server.destroy();
      this.pairs.delete(pair);
    };
    client.on('error', end).on('close', end);
    server.on('error', end).on('close', end);
    client.on('data', (chunk: Buffer) => {
      if (this.cutPattern !== undefined && chunk.includes(this.cutPattern)) {
        this.cutPattern = undefined;
        pair.cutting = true;
      }
      if (pair.sent.length < 4096) pair.sent += chunk.toString('latin1');
      server.write(chunk);
    });
    server.on('data', (chunk: Buffer) => {
      if (pair.cutting) end();
      else client.write(chunk);
    });
    if (this.paused) {
      client.pause();
      server.pause();
    }
  }
}
