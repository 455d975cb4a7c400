import { type ChildProcess, spawn } from 'node:child_process';

/** A request from the orchestrator to a server or a load generator, over Node's IPC channel. */
interface RpcRequest {
  rpc: number;
  command: string;
  args: unknown;
}

/** The answer to one {@link RpcRequest}. */
interface RpcReply {
  rpc: number;
  result?: unknown;
  error?: string;
}

/** What a child process posts once, when it is ready for commands. */
export interface ReadyMessage {
  ready: true;
  port?: number;
}

type Handler = (args: never) => unknown;

/**
 * Answers the orchestrator's commands in a child process started with an IPC channel. A
 * command's promise may take as long as it needs: replies carry the request's number.
 */
export function serveRpc(handlers: Record<string, Handler>): void {
  if (process.send === undefined) {
    throw new Error('Start this process from bench/run.ts: it is driven over an IPC channel.');
  }
  process.on('message', (message: RpcRequest) => {
    const handler = handlers[message.command];
    const reply = (answer: Omit<RpcReply, 'rpc'>) => process.send!({ rpc: message.rpc, ...answer });
    if (handler === undefined) {
      reply({ error: `unknown command ${message.command}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(message.args as never))
      .then(
        (result) => reply({ result }),
        (error: unknown) => reply({ error: error instanceof Error ? error.stack : String(error) }),
      );
  });
  // The orchestrator going away (crash, Ctrl-C) must not leave this process behind.
  process.on('disconnect', () => process.exit(0));
}

/** Posts the ready message; a server adds the port it listens on. */
export function announceReady(port?: number): void {
  const message: ReadyMessage = { ready: true, port };
  process.send!(message);
}

/** How to start a child pinned to a CPU core. */
export interface ChildSpec {
  name: string;
  script: string;
  args?: string[];
  core: number;
  nodeFlags?: string[];
  env?: Record<string, string>;
  /** Raise the soft limit of open files to the hard one before starting. */
  raiseFileLimit?: boolean;
  /** A command node runs under, in the same process (valgrind: its PID is node's). */
  wrapper?: string[];
  /** Lines of output are passed here, prefixed with the child's name. */
  log: (line: string) => void;
}

/** A child process driven over IPC; it is stopped by its PID. */
export class RpcChild {
  readonly exited: Promise<number | null>;
  private nextRpc = 1;
  private readonly pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  private exitCode: number | null | undefined;

  private constructor(
    readonly name: string,
    readonly process: ChildProcess,
    readonly port: number | undefined,
  ) {
    this.exited = new Promise((resolve) => {
      process.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal === null ? null : -1);
        const error = new Error(`${name} exited (code ${code}, signal ${signal})`);
        for (const { reject } of this.pending.values()) reject(error);
        this.pending.clear();
        resolve(code);
      });
    });
    process.on('message', (message: RpcReply) => {
      const waiting = this.pending.get(message.rpc);
      if (waiting === undefined) return;
      this.pending.delete(message.rpc);
      if (message.error !== undefined) {
        waiting.reject(new Error(`${name}: ${message.error}`));
      } else {
        waiting.resolve(message.result);
      }
    });
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get alive(): boolean {
    return this.exitCode === undefined;
  }

  /**
   * Starts `taskset -c <core> node <flags> <script> <args>` with an IPC channel, and resolves
   * once the child says it is ready.
   */
  static async start(spec: ChildSpec, readyTimeoutMs = 30_000): Promise<RpcChild> {
    const node = [process.execPath, ...(spec.nodeFlags ?? []), spec.script, ...(spec.args ?? [])];
    const pinned = ['taskset', '-c', String(spec.core), ...(spec.wrapper ?? []), ...node];
    // `exec` keeps one PID from the shell to node: the PID we stop at the end is node's.
    const command = spec.raiseFileLimit
      ? ['sh', '-c', 'ulimit -n "$(ulimit -Hn)" && exec "$@"', 'sh', ...pinned]
      : pinned;
    const child = spawn(command[0]!, command.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, ...spec.env },
    });
    for (const stream of [child.stdout!, child.stderr!]) {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (text: string) => {
        const lines = (rest + text).split('\n');
        rest = lines.pop()!;
        for (const line of lines) spec.log(`[${spec.name}] ${line}`);
      });
    }
    const ready = await new Promise<ReadyMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${spec.name} did not become ready within ${readyTimeoutMs} ms`));
      }, readyTimeoutMs);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${spec.name} exited before it was ready (code ${code}, ${signal})`));
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      const onMessage = (message: ReadyMessage) => {
        if (message.ready !== true) return;
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(message);
      };
      child.on('message', onMessage);
    });
    child.removeAllListeners('exit');
    child.removeAllListeners('error');
    child.on('error', (error) => spec.log(`[${spec.name}] process error: ${error.message}`));
    return new RpcChild(spec.name, child, ready.port);
  }

  call<T>(command: string, args: unknown = {}, timeoutMs = 120_000): Promise<T> {
    if (!this.alive) return Promise.reject(new Error(`${this.name} is not running`));
    const rpc = this.nextRpc++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(rpc);
        reject(new Error(`${this.name}: "${command}" took longer than ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(rpc, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      const request: RpcRequest = { rpc, command, args };
      this.process.send(request);
    });
  }

  /** Asks the child to exit, then kills it by PID if it has not within `graceMs`. */
  async stop(graceMs = 3000): Promise<void> {
    if (!this.alive) return;
    if (this.process.connected) this.process.disconnect();
    const exited = await Promise.race([
      this.exited.then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), graceMs).unref()),
    ]);
    if (!exited && this.alive) {
      this.process.kill('SIGKILL');
      await this.exited;
    }
  }
}

/**
 * Starts a child (RpcChild.start) and keeps it in `live` until it exits: what a run stops by PID
 * when it ends, whatever happened.
 */
export async function startTracked(live: Set<RpcChild>, spec: ChildSpec): Promise<RpcChild> {
  const child = await RpcChild.start(spec);
  live.add(child);
  void child.exited.then(() => live.delete(child));
  return child;
}
