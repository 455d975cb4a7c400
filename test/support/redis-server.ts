import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { expect, it } from 'vitest';

/** The Debian package's binary; the fault suites need their own server, not the shared one. */
export const REDIS_SERVER_BIN = '/usr/bin/redis-server';

const HOST = '127.0.0.1';
/** How long the server may take to answer PING after a start, and to exit after SHUTDOWN. */
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;
/** Between two PINGs while the server comes up (it loads its AOF before it answers). */
const PING_INTERVAL_MS = 20;

/** Whether `redis-server` is installed where the fault suites look for it. */
export function redisServerInstalled(): boolean {
  return existsSync(REDIS_SERVER_BIN);
}

/**
 * Says what happens to the suites of `file` that start redis-servers of their own: skipped with
 * a printed reason when the binary is missing, except under `CI=true`, where a test asserts it
 * is installed (a CI run that silently skipped them would prove nothing).
 */
export function reportRedisServerAvailability(installed: boolean, file: string): void {
  if (process.env.CI === 'true') {
    it(`${file}: ${REDIS_SERVER_BIN} is installed (required under CI=true)`, () => {
      expect(installed, `${REDIS_SERVER_BIN} is missing; CI must install redis-server`).toBe(true);
    });
  } else if (!installed) {
    console.warn(
      `${file}: skipped: ${REDIS_SERVER_BIN} is missing, and these tests start redis-servers ` +
        'of their own (apt-get install redis-server).',
    );
  }
}

/**
 * A TCP port nothing listens on at the time of the call: the kernel's pick for port 0, released
 * at once. (Another process could take it before it is used; the start of a server says so.)
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, HOST);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * One `redis-server` of the test's own: a child process on a free port of 127.0.0.1, with
 * persistence on (every write fsynced to the AOF before it is answered), so that a `SHUTDOWN`
 * and a start on the same data directory is a Redis outage that loses nothing acknowledged.
 *
 * @example
 * ```ts
 * const redis = await RedisServer.launch();
 * await redis.shutdown(); // the outage
 * await redis.start(); // same port, same data
 * await redis.kill(); // in afterEach: by PID, and its data directory removed
 * ```
 */
export class RedisServer {
  private child?: ChildProcess;
  private exited?: Promise<void>;
  private log = '';
  private readonly killOnExit = () => this.killNow();

  private constructor(
    readonly port: number,
    readonly dir: string,
    /** More `redis-server` arguments (`--maxmemory 1mb`, `--cluster-enabled yes`…). */
    private readonly extraArgs: readonly string[] = [],
  ) {}

  /**
   * A server not started yet: a free port (nothing listens on it until {@link start}) and a
   * new, empty data directory.
   */
  static async create(extraArgs: readonly string[] = []): Promise<RedisServer> {
    const dir = await mkdtemp(join(tmpdir(), 'sse-redis-faults-'));
    return new RedisServer(await freePort(), dir, extraArgs);
  }

  /** {@link create}, then {@link start}. */
  static async launch(extraArgs: readonly string[] = []): Promise<RedisServer> {
    const server = await RedisServer.create(extraArgs);
    try {
      await server.start();
    } catch (error) {
      await server.kill();
      throw error;
    }
    return server;
  }

  /** `redis://127.0.0.1:<port>`. */
  get url(): string {
    return `redis://${HOST}:${this.port}`;
  }

  /** The PID of the running server; `undefined` while it is stopped. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** What the server printed, for the message of a failure. */
  get output(): string {
    return this.log;
  }

  /**
   * Starts the server (again, after {@link shutdown}) on its port and data directory, and
   * resolves once it answers PING, that is once it has loaded what it persisted.
   */
  async start(): Promise<void> {
    if (this.child !== undefined) throw new Error(`redis-server ${this.pid} is already running`);
    const child = spawn(
      REDIS_SERVER_BIN,
      [
        '--port',
        String(this.port),
        '--bind',
        HOST,
        '--dir',
        this.dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
        '--daemonize',
        'no',
        '--logfile',
        '',
        ...this.extraArgs,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    this.log += `--- start (port ${this.port}) ---\n`;
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.log += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.log += chunk));
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        if (this.child === child) this.child = undefined;
        process.off('exit', this.killOnExit);
        resolve();
      });
    });
    process.once('exit', this.killOnExit);
    const failure = await Promise.race([
      once(child, 'spawn').then(() => undefined),
      once(child, 'error').then(([error]) => error as Error),
    ]);
    if (failure !== undefined) {
      this.child = undefined;
      throw new Error(`${REDIS_SERVER_BIN} could not be started: ${failure.message}`);
    }
    await this.waitUntilAnswering();
  }

  /**
   * Stops the server with `SHUTDOWN` (which flushes the AOF) and resolves once its process
   * exited. Every connection to it is cut, as in a real outage.
   */
  async shutdown(): Promise<void> {
    const exited = this.exited;
    if (this.child === undefined || exited === undefined) return;
    const socket = connect(this.port, HOST);
    // The server closes the connection without a reply when it shuts down.
    socket.on('error', () => undefined);
    socket.write('SHUTDOWN\r\n');
    socket.resume();
    const timeout = new AbortController();
    try {
      await Promise.race([
        exited,
        delay(STOP_TIMEOUT_MS, undefined, { signal: timeout.signal }).then(() => {
          throw new Error(
            `redis-server ${this.pid} did not exit within ${STOP_TIMEOUT_MS} ms of SHUTDOWN\n${this.log}`,
          );
        }),
      ]);
    } finally {
      timeout.abort();
      socket.destroy();
    }
  }

  /**
   * Stops the server's process (SIGSTOP) without closing anything: connections stay open and
   * nothing is answered, as when Redis hangs or the network drops packets.
   */
  freeze(): void {
    this.signal('SIGSTOP');
  }

  /** Lets a {@link freeze}d server go on: it answers what it received meanwhile. */
  thaw(): void {
    this.signal('SIGCONT');
  }

  /**
   * Kills the server by its PID (SIGKILL: no flush, no goodbye) and keeps its data directory, so
   * that {@link start} brings it back on what it had persisted, as after a crash.
   */
  async crash(): Promise<void> {
    const exited = this.exited;
    if (this.killNow() && exited !== undefined) await exited;
  }

  /** Kills the server by its PID if it runs, and removes its data directory. For cleanup. */
  async kill(): Promise<void> {
    const exited = this.exited;
    if (this.killNow() && exited !== undefined) {
      const timeout = new AbortController();
      await Promise.race([
        exited,
        delay(STOP_TIMEOUT_MS, undefined, { signal: timeout.signal }).catch(() => undefined),
      ]);
      timeout.abort();
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  private signal(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) throw new Error('redis-server is not running');
    process.kill(pid, signal);
  }

  private killNow(): boolean {
    const pid = this.child?.pid;
    if (pid === undefined) return false;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    return true;
  }

  private async waitUntilAnswering(): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.child === undefined) {
        throw new Error(`redis-server exited while starting on port ${this.port}:\n${this.log}`);
      }
      if (await ping(this.port)) return;
      await delay(PING_INTERVAL_MS);
    }
    this.killNow();
    throw new Error(
      `redis-server did not answer PING on port ${this.port} within ${START_TIMEOUT_MS} ms:\n${this.log}`,
    );
  }
}

/**
 * Whether something answers `+PONG` to PING on the port within `timeoutMs`; never throws.
 * Resolves once its socket is closed, so that it leaves no handle behind.
 */
function ping(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, HOST);
    let reply = '';
    let answer = false;
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.setEncoding('latin1');
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (reply.includes('\r\n')) {
        answer = reply.startsWith('+PONG');
        socket.destroy();
      }
    });
    socket.once('error', () => socket.destroy());
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
  });
}
