import { execFile, fork } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEventStream } from '../../src/testing/index.js';

// The README recipe "SIGTERM: enableShutdownHooks()": a deployed app in a process of its own
// gets SIGTERM with a stream open; the client sees the shutdown event and a retry hint, the
// stream ends, and the process exits.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHILD = fileURLToPath(new URL('../src/recipes/shutdown-app.mjs', import.meta.url));

/** A private build: another suite may rebuild `dist/` while the child imports it. */
let buildDir: string;

beforeAll(async () => {
  buildDir = await mkdtemp(join(tmpdir(), 'nestjs-event-stream-recipes-shutdown-'));
  await symlink(join(ROOT, 'node_modules'), join(buildDir, 'node_modules'), 'dir');
  await writeFile(join(buildDir, 'package.json'), JSON.stringify({ type: 'module' }));
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  await promisify(execFile)(
    process.execPath,
    [tsc, '-p', 'tsconfig.build.json', '--outDir', join(buildDir, 'dist')],
    { cwd: ROOT, timeout: 120_000 },
  );
}, 150_000);

afterAll(async () => {
  if (buildDir !== undefined) await rm(buildDir, { recursive: true, force: true });
});

describe('recipe: SIGTERM with enableShutdownHooks()', () => {
  it('ends open streams with the shutdown event and a retry hint, then exits', async () => {
    const child = fork(CHILD, [], {
      // Not vitest's loader flags: the child runs plain JavaScript on the build.
      execArgv: [],
      env: { ...process.env, SSE_LIBRARY: pathToFileURL(join(buildDir, 'dist', 'index.js')).href },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    try {
      const { port } = await new Promise<{ port: number }>((resolve, reject) => {
        child.once('message', (message) => resolve(message as { port: number }));
        child.once('exit', (code) =>
          reject(new Error(`the app exited (${code}) before listening`)),
        );
      });
      // The server is in the child: the helper is given its origin.
      const stream = await openEventStream(`http://127.0.0.1:${port}`, { path: '/updates' });
      expect(stream.status).toBe(200);

      child.kill('SIGTERM');
      await stream.waitForEnd();
      expect(stream.events).toEqual([{ event: 'shutdown', id: undefined, data: 'restarting' }]);
      // Spread between reconnectDelayMs and reconnectDelayMs + reconnectJitterMs.
      expect(stream.retry).toBeGreaterThanOrEqual(1000);
      expect(stream.retry).toBeLessThanOrEqual(5000);
      // Nest re-raises the signal once app.close() resolved: the process ends by SIGTERM.
      expect(await exited).toEqual({ code: null, signal: 'SIGTERM' });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }, 60_000);
});
