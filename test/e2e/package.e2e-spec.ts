import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The package as users get it: built with `npm run build`, imported by name from a plain Node
// process (no vitest, no TypeScript loader), through package.json's `exports`.

const execFileAsync = promisify(execFile);

/** Runs a command and resolves with its stdout; a failure carries the command's whole output. */
async function run(
  file: string,
  args: string[],
  options: { cwd: string; timeout: number },
): Promise<string> {
  return execFileAsync(file, args, { ...options, maxBuffer: 16 * 1024 * 1024 }).then(
    ({ stdout }) => stdout,
    (error: Error & { code?: unknown; stdout?: string; stderr?: string }) => {
      throw new Error(
        `\`${[file, ...args].join(' ')}\` failed (exit ${String(error.code)}) in ${options.cwd}:\n` +
          `${error.stdout ?? ''}${error.stderr ?? ''}`,
        { cause: error },
      );
    },
  );
}
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST = join(ROOT, 'dist');

/** What the child process prints: each export's `typeof`, and a few results of using them. */
interface ImportReport {
  root: Record<string, string>;
  testing: Record<string, string>;
  resolved: { root: string; testing: string };
  packageName: string;
  frame: string;
  refusal: { isInvalidEventFieldError: boolean; field: unknown; code: unknown } | undefined;
}

// Runs as an ES module whose base is the repository, so the package resolves by its own name.
const IMPORT_SCRIPT = `
import { createRequire } from 'node:module';
const root = await import('nestjs-event-stream');
const testing = await import('nestjs-event-stream/testing');
const kinds = (ns) => Object.fromEntries(Object.entries(ns).map(([key, value]) => [key, typeof value]));
let refusal;
try {
  root.serializeEvent({ id: 'a\\nb', data: 'x' });
} catch (error) {
  refusal = {
    isInvalidEventFieldError: error instanceof root.InvalidEventFieldError,
    field: error.field,
    code: error.code,
  };
}
process.stdout.write(JSON.stringify({
  root: kinds(root),
  testing: kinds(testing),
  resolved: {
    root: import.meta.resolve('nestjs-event-stream'),
    testing: import.meta.resolve('nestjs-event-stream/testing'),
  },
  packageName: createRequire(import.meta.url)('nestjs-event-stream/package.json').name,
  frame: root.serializeEvent({ type: 'message', id: '1', data: 'hello' }),
  refusal,
}));
`;

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)));
}

describe('the built package', () => {
  let report: ImportReport;

  beforeAll(async () => {
    await run('npm', ['run', 'build'], { cwd: ROOT, timeout: 120_000 });
    const stdout = await run(process.execPath, ['--input-type=module', '-e', IMPORT_SCRIPT], {
      cwd: ROOT,
      timeout: 30_000,
    });
    report = JSON.parse(stdout) as ImportReport;
  }, 150_000);

  it('resolves both entry points by name to the built files', () => {
    expect(report.packageName).toBe('nestjs-event-stream');
    expect(fileURLToPath(report.resolved.root)).toBe(join(DIST, 'index.js'));
    expect(fileURLToPath(report.resolved.testing)).toBe(join(DIST, 'testing', 'index.js'));
  });

  it('exports the library from the root entry', () => {
    expect(report.root).toMatchObject({
      SseModule: 'function',
      EventStream: 'function',
      EventStreamSignal: 'function',
      noContent: 'function',
      serializeEvent: 'function',
      InvalidEventFieldError: 'function',
    });
    expect(report.frame).toBe('event: message\nid: 1\ndata: hello\n\n');
    expect(report.refusal).toEqual({
      isInvalidEventFieldError: true,
      field: 'id',
      code: 'SSE_INVALID_EVENT_FIELD',
    });
  });

  it('exports the test helpers from nestjs-event-stream/testing', () => {
    expect(report.testing).toMatchObject({
      openEventStream: 'function',
      collectEvents: 'function',
    });
  });

  it('keeps the demo app and the test helpers out of the root entry', () => {
    for (const name of ['AppModule', 'HelloController', 'HELLO_INTERVAL_MS', 'DEMO_PAGE']) {
      expect(report.root, `the root entry exports the demo's ${name}`).not.toHaveProperty(name);
    }
    for (const name of ['openEventStream', 'collectEvents', 'TestEventStream']) {
      expect(report.root, `the root entry exports the test helper ${name}`).not.toHaveProperty(
        name,
      );
    }
    expect(existsSync(join(DIST, 'example'))).toBe(false);
  });

  it('ships a .d.ts beside every .js in dist, and no spec files', async () => {
    const files = await filesUnder(DIST);
    expect(files).toContain('index.d.ts');
    expect(files).toContain(join('testing', 'index.d.ts'));
    const scripts = files.filter((file) => file.endsWith('.js'));
    expect(scripts.length).toBeGreaterThan(0);
    const withoutTypes = scripts.filter((file) => !files.includes(file.replace(/\.js$/, '.d.ts')));
    expect(withoutTypes).toEqual([]);
    expect(files.filter((file) => file.includes('.spec.'))).toEqual([]);
  });

  it('publishes dist and package.json only', async () => {
    const stdout = await run('npm', ['pack', '--dry-run', '--json'], {
      cwd: ROOT,
      timeout: 60_000,
    });
    const [pack] = JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>;
    const paths = pack!.files.map((file) => file.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'package.json',
        'dist/index.js',
        'dist/index.d.ts',
        'dist/testing/index.js',
        'dist/testing/index.d.ts',
      ]),
    );
    const outside = paths.filter(
      (path) => !path.startsWith('dist/') && !/^(package\.json|README\.md|LICENSE)$/i.test(path),
    );
    expect(outside).toEqual([]);
  }, 60_000);

  describe('types, as a TypeScript consumer resolves them', () => {
    let consumer: string;

    beforeAll(async () => {
      consumer = await mkdtemp(join(tmpdir(), 'nestjs-event-stream-consumer-'));
      await mkdir(join(consumer, 'node_modules'));
      await symlink(ROOT, join(consumer, 'node_modules', 'nestjs-event-stream'), 'dir');
      await writeFile(join(consumer, 'package.json'), JSON.stringify({ type: 'module' }));
      await writeFile(
        join(consumer, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module: 'nodenext',
            moduleResolution: 'nodenext',
            strict: true,
            noEmit: true,
            skipLibCheck: true,
            types: ['node'],
            typeRoots: [join(ROOT, 'node_modules', '@types')],
          },
          files: ['consumer.ts'],
        }),
      );
      await writeFile(
        join(consumer, 'consumer.ts'),
        [
          "import { InvalidEventFieldError, serializeEvent, SseModule, type SseEvent } from 'nestjs-event-stream';",
          "import { collectEvents, openEventStream } from 'nestjs-event-stream/testing';",
          "const event: SseEvent = { type: 'message', id: 1, data: { ok: true } };",
          'const frame: string = serializeEvent(event);',
          "const field: 'id' | 'type' | 'retry' = new InvalidEventFieldError('id', 'x').field;",
          '// @ts-expect-error retry is a number: the types are real, not any',
          "serializeEvent({ retry: 'soon' });",
          'export { frame, field, SseModule, collectEvents, openEventStream };',
        ].join('\n'),
      );
    });

    afterAll(async () => {
      if (consumer !== undefined) await rm(consumer, { recursive: true, force: true });
    });

    it('type-checks a consumer importing both entry points by name', async () => {
      const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      // Resolves only when tsc reports no error; a failure shows tsc's output.
      await run(process.execPath, [tsc, '-p', consumer], { cwd: consumer, timeout: 60_000 });
    }, 60_000);
  });
});
