/**
 * Churn in instructions (issue 11, item 4): the server's instructions per cycle (connect, one
 * event, close), counted by valgrind's callgrind, for the smallest hand-written Nest handler
 * (servers/nest-minimal.ts) and nestjs-event-stream (servers/nest-event-stream.ts).
 *
 *   npx tsc -p bench/tsconfig.json && node bench/dist/bench/churn-instructions.js
 *       [--servers minimal,ours,name=path/to/server.js] [--warmup 10000] [--cycles 1000] [--runs 2]
 *
 * CPU time per cycle moves by 1.5x from one run to the next on a shared 2-core machine; an
 * instruction count does not (the same binary, inputs and environment give the same count
 * whatever else runs). Each server starts under `valgrind --tool=callgrind --instr-atstart=no`
 * (core 0), so bootstrap and warm-up run uninstrumented; `callgrind_control -i on` then counts
 * the `--cycles` measured ones, until the server has let go of every stream, and the dump's
 * total is divided by the cycles. The warm-up is long because V8 tiers a function up after
 * thousands of calls: with 300 cycles of it, the count was mostly the interpreter's and the
 * optimizing compiler's (minimal: 1.83M instructions per cycle; 0.87M after 10,000).
 * `name=path` adds a server (another build of `ours`, for an A/B of a change).
 * User-space instructions only: the kernel's part of a cycle
 * (accept, writev, close) is not in it, and is the same for both servers. The client (this
 * process, core 1) runs cycles one after the other over raw sockets. Only what this starts is
 * stopped, by PID.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { parseArgs } from 'node:util';
import { parseChurnServers } from './lib/churn-servers.js';
import { RpcChild } from './lib/rpc.js';
import type { ServerStats } from './lib/server-kit.js';

const { values: flags } = parseArgs({
  options: {
    servers: { type: 'string', default: 'minimal,ours' },
    warmup: { type: 'string', default: '10000' },
    cycles: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '2' },
  },
});
const parsed = parseChurnServers(flags.servers);
if ('unknown' in parsed) fail(`unknown server "${parsed.unknown}"`);
const servers = parsed.map((server) => server.name);
const scriptOf = new Map(parsed.map((server) => [server.name, server.script]));
const warmup = Number(flags.warmup);
const cycles = Number(flags.cycles);
const runs = Number(flags.runs);
if (!(cycles >= 1 && warmup >= 0 && runs >= 1))
  fail('--cycles, --runs: 1 or more; --warmup: 0 or more');
for (const tool of ['/usr/bin/valgrind', '/usr/bin/callgrind_control']) {
  if (!existsSync(tool)) fail(`${tool} is missing: apt-get install -y valgrind`);
}

function fail(message: string): never {
  console.error(`churn-instructions: ${message}`);
  process.exit(1);
}

/** One cycle: connect, ask for the stream, read its head and first event, close. */
function cycle(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('latin1');
    socket.once('connect', () =>
      socket.write('GET /churn HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n'),
    );
    socket.on('data', (text: string) => {
      received += text;
      const head = received.indexOf('\r\n\r\n');
      if (head !== -1 && received.indexOf('\n\n', head + 4) !== -1) {
        socket.destroy();
        resolve();
      }
    });
    socket.once('error', reject);
  });
}

async function settle(server: RpcChild): Promise<void> {
  // The server counts a stream's close once it saw the socket go: every cycle's teardown is in.
  for (let i = 0; i < 600; i++) {
    const stats = await server.call<ServerStats>('stats', { collect: false });
    if (stats.subscribers === 0 && stats.sockets === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the server did not let go of its streams');
}

/**
 * Runs `callgrind_control <option>` on the server. Valgrind takes the command when the server
 * next runs, so the server is woken (a `stats` call) until the command says it is done.
 */
async function control(server: RpcChild, option: string): Promise<void> {
  let done = false;
  const finished = new Promise<void>((resolve, reject) => {
    execFile('/usr/bin/callgrind_control', [option, String(server.pid)], (error, stdout) => {
      done = true;
      if (error !== null || !stdout.includes('OK')) {
        reject(new Error(`callgrind_control ${option}: ${error?.message ?? stdout}`));
      } else {
        resolve();
      }
    });
  });
  while (!done) {
    await server.call('stats', { collect: false });
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await finished;
}

/** The total `Ir` of a callgrind dump (its `totals:`; `summary:` stays 0 when collection was toggled). */
function totalInstructions(file: string): number {
  const line = readFileSync(file, 'latin1')
    .split('\n')
    .find((l) => l.startsWith('totals:'));
  if (line === undefined) throw new Error(`no totals in ${file}`);
  return Number(line.split(/\s+/)[1]);
}

async function measure(name: string, run: number): Promise<number> {
  const out = `/tmp/churn-instructions-${process.pid}-${name}-${run}.out`;
  const server = await RpcChild.start(
    {
      name,
      script: scriptOf.get(name)!,
      core: 0,
      nodeFlags: ['--expose-gc'],
      wrapper: [
        '/usr/bin/valgrind',
        '--tool=callgrind',
        '--instr-atstart=no',
        '--smc-check=all-non-file',
        `--callgrind-out-file=${out}`,
      ],
      log: (line) => {
        if (process.env.VERBOSE) console.error(line);
      },
    },
    300_000,
  );
  try {
    const port = server.port!;
    for (let i = 0; i < warmup; i++) await cycle(port);
    await settle(server);
    await control(server, '--instr=on');
    for (let i = 0; i < cycles; i++) await cycle(port);
    await settle(server);
    await control(server, '--instr=off');
  } finally {
    await server.stop(120_000);
  }
  const instructions = totalInstructions(out);
  rmSync(out, { force: true });
  return instructions / cycles;
}

const results: Record<string, number[]> = {};
for (let run = 1; run <= runs; run++) {
  for (const name of servers) {
    const perCycle = await measure(name, run);
    (results[name] ??= []).push(perCycle);
    console.log(
      `churn-instructions: run ${run} ${name}: ${Math.round(perCycle).toLocaleString('en-US')} instructions per cycle`,
    );
  }
}
const median = (values: number[]) =>
  values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)]!;
console.log('\n| server | instructions per cycle (each run) | median |\n|---|---|---:|');
for (const name of servers) {
  const values = results[name]!;
  console.log(
    `| ${name} | ${values.map((v) => Math.round(v).toLocaleString('en-US')).join(' / ')} | ${Math.round(median(values)).toLocaleString('en-US')} |`,
  );
}
if (results.minimal !== undefined && results.ours !== undefined) {
  console.log(`\nours / minimal: ${(median(results.ours) / median(results.minimal)).toFixed(2)}×`);
}
