import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
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
const MANIFEST = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as PackageManifest;

interface PackageManifest {
  name: string;
  license: string;
  engines: { node: string };
  repository: { type: string; url: string };
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
}

/**
 * The runtime exports of each entry point. A change here is a change of the public API: update
 * the list on purpose, and the README with it.
 */
const ROOT_EXPORTS = [
  'BrokerUnavailableError',
  'EventStream',
  'EventStreamSignal',
  'InvalidChannelError',
  'InvalidClientKeyError',
  'InvalidEventFieldError',
  'InvalidHubEventError',
  'InvalidOptionError',
  'InvalidStreamEventError',
  'InvalidStreamRouteError',
  'InvalidStreamSourceError',
  'LastEventId',
  'MAX_ACCEPT_LENGTH',
  'MAX_ACCEPT_RANGES',
  'ProducerIdError',
  'RETENTION_DEFAULTS',
  'SSE_DEFAULTS',
  'SseError',
  'SseHub',
  'SseModule',
  'SseModuleMissingError',
  'StreamRegistry',
  'UnserializableEventDataError',
  'UnsupportedPlatformError',
  'lastEventIdOf',
  'memoryBroker',
  'noContent',
  'prepareEvent',
  'redisBroker',
  'serializeComment',
  'serializeEvent',
  'serializeRetry',
];
const TESTING_EXPORTS = ['TestEventStream', 'collectEvents', 'openEventStream', 'openHttp2Session'];
const OPENAPI_EXPORTS = ['ApiEventStream'];

/** The machinery behind the public face: never exported, whatever else changes. */
const NEVER_EXPORTED = [
  'RouteDispatcher',
  'EventStreamConnection',
  'HeartbeatScheduler',
  'resolveOptions',
  'routeSettings',
  'hubStream',
  'encodeCursor',
  'parseCursor',
  'ATTACH_SOURCE',
  'ConfigurableModuleClass',
  'EVENT_STREAM_METADATA',
  'STREAM_REGISTRY_KEY',
  // The negotiation itself and the options token before defaults: what the module uses to
  // route and configure, not what an application calls (it sets options through forRoot()).
  'chooseHandler',
  'SSE_MODULE_OPTIONS',
];

/** What the child process prints: each export's `typeof`, and a few results of using them. */
interface ImportReport {
  root: Record<string, string>;
  testing: Record<string, string>;
  openapi: Record<string, string>;
  resolved: { root: string; testing: string; openapi: string };
  packageName: string;
  frame: string;
  refusal: { isInvalidEventFieldError: boolean; field: unknown; code: unknown } | undefined;
}

// Runs as an ES module whose base is the repository, so the package resolves by its own name.
const IMPORT_SCRIPT = `
import { createRequire } from 'node:module';
const root = await import('nestjs-event-stream');
const testing = await import('nestjs-event-stream/testing');
const openapi = await import('nestjs-event-stream/openapi');
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
  openapi: kinds(openapi),
  resolved: {
    root: import.meta.resolve('nestjs-event-stream'),
    testing: import.meta.resolve('nestjs-event-stream/testing'),
    openapi: import.meta.resolve('nestjs-event-stream/openapi'),
  },
  packageName: createRequire(import.meta.url)('nestjs-event-stream/package.json').name,
  frame: root.serializeEvent({ type: 'message', id: '1', data: 'hello' }),
  refusal,
}));
`;

/** The tsconfig.json of a consumer project of `consumer.ts`, resolving as Node does. */
function consumerTsconfig(options: Record<string, unknown>): string {
  return JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      strict: true,
      noEmit: true,
      types: ['node'],
      typeRoots: [join(ROOT, 'node_modules', '@types')],
      ...options,
    },
    files: ['consumer.ts'],
  });
}

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

  it('resolves the three entry points by name to the built files', () => {
    expect(report.packageName).toBe('nestjs-event-stream');
    expect(fileURLToPath(report.resolved.root)).toBe(join(DIST, 'index.js'));
    expect(fileURLToPath(report.resolved.testing)).toBe(join(DIST, 'testing', 'index.js'));
    expect(fileURLToPath(report.resolved.openapi)).toBe(join(DIST, 'openapi', 'index.js'));
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

  it('exports the OpenAPI helper from nestjs-event-stream/openapi, and not from the root', () => {
    expect(report.openapi).toMatchObject({ ApiEventStream: 'function' });
    // The root entry never loads @nestjs/swagger: an application without it imports the root.
    expect(report.root).not.toHaveProperty('ApiEventStream');
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
    expect(files).toContain(join('openapi', 'index.d.ts'));
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
        'dist/openapi/index.js',
        'dist/openapi/index.d.ts',
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
      await writeFile(join(consumer, 'tsconfig.json'), consumerTsconfig({ skipLibCheck: true }));
      await writeFile(
        join(consumer, 'consumer.ts'),
        [
          "import { InvalidEventFieldError, serializeEvent, SseModule, type SseEvent } from 'nestjs-event-stream';",
          "import { collectEvents, openEventStream } from 'nestjs-event-stream/testing';",
          "import { ApiEventStream, type ApiEventStreamOptions } from 'nestjs-event-stream/openapi';",
          '// @ts-expect-error the negotiation is internal: no type of it is exported',
          "import type { HandlerChoice } from 'nestjs-event-stream';",
          "const docs: ApiEventStreamOptions = { description: 'Prices.', schema: { type: 'string' } };",
          'const decorator: MethodDecorator = ApiEventStream(docs);',
          "const event: SseEvent = { type: 'message', id: 1, data: { ok: true } };",
          'const frame: string = serializeEvent(event);',
          "const field: 'id' | 'type' | 'retry' | 'comment' = new InvalidEventFieldError('id', 'x').field;",
          '// @ts-expect-error retry is a number: the types are real, not any',
          "serializeEvent({ retry: 'soon' });",
          'export type { HandlerChoice };',
          'export { frame, field, decorator, SseModule, collectEvents, openEventStream };',
        ].join('\n'),
      );
    });

    afterAll(async () => {
      if (consumer !== undefined) await rm(consumer, { recursive: true, force: true });
    });

    it('type-checks a consumer importing the three entry points by name', async () => {
      const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      // Resolves only when tsc reports no error; a failure shows tsc's output.
      await run(process.execPath, [tsc, '-p', consumer], { cwd: consumer, timeout: 60_000 });
    }, 60_000);
  });
});

// The package as `npm install <tarball>` lays it out: a copy of what `npm pack` ships, in a
// consumer of its own whose node_modules holds the dependencies and the required peers only
// (symlinked from this checkout), never the optional peers.

/** Modules a consumer must have for the package to load: its dependencies and required peers. */
function requiredModules(): string[] {
  const optional = new Set(
    Object.entries(MANIFEST.peerDependenciesMeta)
      .filter(([, meta]) => meta.optional === true)
      .map(([name]) => name),
  );
  return [
    ...Object.keys(MANIFEST.dependencies),
    ...Object.keys(MANIFEST.peerDependencies).filter((name) => !optional.has(name)),
  ];
}

/** A CommonJS app on the installed package: it boots a stream route and reads it back. */
const COMMONJS_APP = String.raw`
'use strict';
require('reflect-metadata');
const { Controller, Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { of } = require('rxjs');
// require() of the ES module package: on by default from Node 20.19 and 22.12.
const { EventStream, SseModule, serializeEvent } = require('nestjs-event-stream');
const { collectEvents } = require('nestjs-event-stream/testing');

class HelloController {
  hello() {
    return of({ type: 'message', id: '1', data: 'hello' });
  }
}
const descriptor = Object.getOwnPropertyDescriptor(HelloController.prototype, 'hello');
Object.defineProperty(
  HelloController.prototype,
  'hello',
  EventStream('hello')(HelloController.prototype, 'hello', descriptor) ?? descriptor,
);
Controller()(HelloController);
class AppModule {}
Module({ imports: [SseModule.forRoot({ heartbeatMs: 0 })], controllers: [HelloController] })(
  AppModule,
);

(async () => {
  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const { events } = await collectEvents(app, { path: '/hello', count: 1 });
  await app.close();
  // The other route the README shows: import() from CommonJS, on any Node.
  const viaImport = await import('nestjs-event-stream');
  process.stdout.write(
    JSON.stringify({
      events,
      frame: serializeEvent({ data: 'x' }),
      sameModule: viaImport.SseModule === SseModule,
    }),
  );
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;

describe('the packed tarball, installed in a consumer without the optional peers', () => {
  let work: string;
  let tarball: string;
  let consumer: string;
  /** The same install, plus the one optional peer the `./openapi` entry point needs. */
  let swaggerConsumer: string;
  let installed: string;
  let packedFiles: string[];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'nestjs-event-stream-pack-'));
    // `npm pack` runs `prepack` scripts only; the build is the one the suite above made.
    const stdout = await run('npm', ['pack', '--json', '--pack-destination', work], {
      cwd: ROOT,
      timeout: 60_000,
    });
    const [pack] = JSON.parse(stdout) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    tarball = join(work, pack!.filename);
    packedFiles = pack!.files.map((file) => file.path);

    consumer = join(work, 'consumer');
    installed = join(consumer, 'node_modules', 'nestjs-event-stream');
    await mkdir(join(consumer, 'node_modules', '@nestjs'), { recursive: true });
    await run('tar', ['-xzf', tarball, '-C', work], { cwd: work, timeout: 30_000 });
    await cp(join(work, 'package'), installed, { recursive: true });
    for (const name of [...requiredModules(), '@nestjs/platform-express']) {
      await symlink(join(ROOT, 'node_modules', name), join(consumer, 'node_modules', name), 'dir');
    }
    swaggerConsumer = join(work, 'consumer-openapi');
    await mkdir(join(swaggerConsumer, 'node_modules', '@nestjs'), { recursive: true });
    await cp(join(work, 'package'), join(swaggerConsumer, 'node_modules', 'nestjs-event-stream'), {
      recursive: true,
    });
    for (const name of [...requiredModules(), '@nestjs/swagger']) {
      const target = join(swaggerConsumer, 'node_modules', name);
      await symlink(join(ROOT, 'node_modules', name), target, 'dir');
    }
  }, 120_000);

  afterAll(async () => {
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('exports exactly the public names from each entry point', async () => {
    const namesOf = async (cwd: string, entries: string[]) => {
      const script =
        'const names = {};' +
        `for (const m of ${JSON.stringify(entries)}) names[m] = Object.keys(await import(m)).sort();` +
        'process.stdout.write(JSON.stringify(names));';
      const stdout = await run(process.execPath, ['--input-type=module', '-e', script], {
        cwd,
        timeout: 30_000,
      });
      return JSON.parse(stdout) as Record<string, string[]>;
    };
    // The root and the test helpers load without any optional peer; the OpenAPI helper where
    // @nestjs/swagger is installed, as it is in any application that documents its routes.
    const names = {
      ...(await namesOf(consumer, ['nestjs-event-stream', 'nestjs-event-stream/testing'])),
      ...(await namesOf(swaggerConsumer, ['nestjs-event-stream/openapi'])),
    };
    expect(names['nestjs-event-stream']).toEqual(ROOT_EXPORTS.toSorted());
    expect(names['nestjs-event-stream/testing']).toEqual(TESTING_EXPORTS.toSorted());
    expect(names['nestjs-event-stream/openapi']).toEqual(OPENAPI_EXPORTS.toSorted());
    for (const name of NEVER_EXPORTED) {
      expect(names['nestjs-event-stream'], `${name} is internal`).not.toContain(name);
    }
  });

  it('passes @arethetypeswrong/cli with the esm-only profile', async () => {
    const attw = join(ROOT, 'node_modules', '.bin', 'attw');
    // Resolves only when attw finds no problem; a failure shows its report.
    const entrypoints = ['.', './testing', './openapi'];
    await run(
      attw,
      [
        tarball,
        '--profile',
        'esm-only',
        '--no-definitely-typed',
        '--no-color',
        '--entrypoints',
        ...entrypoints,
      ],
      { cwd: work, timeout: 60_000 },
    );
  }, 60_000);

  it('works from a plain CommonJS file, with require() and with import()', async () => {
    await writeFile(join(consumer, 'app.cjs'), COMMONJS_APP);
    const stdout = await run(process.execPath, ['app.cjs'], { cwd: consumer, timeout: 30_000 });
    expect(JSON.parse(stdout)).toEqual({
      events: [{ event: 'message', id: '1', data: 'hello' }],
      frame: 'data: x\n\n',
      sameModule: true,
    });
  }, 60_000);

  it('ships source maps only with their sources inlined', async () => {
    const maps = packedFiles.filter((path) => path.endsWith('.map'));
    const scripts = packedFiles.filter((path) => path.endsWith('.js'));
    expect(maps.length, 'one map per script').toBe(scripts.length);
    for (const path of maps) {
      const map = JSON.parse(await readFile(join(installed, path), 'utf8')) as {
        sources: string[];
        sourcesContent?: Array<string | null>;
      };
      expect(map.sources.length, path).toBeGreaterThan(0);
      expect(map.sourcesContent?.length, `${path} carries its sources`).toBe(map.sources.length);
      expect(map.sourcesContent!.every((text) => typeof text === 'string' && text.length > 0)).toBe(
        true,
      );
    }
    expect(packedFiles.filter((path) => path.endsWith('.d.ts.map'))).toEqual([]);
  });

  it('ships a LICENSE, and a manifest with engines and a repository that names no made-up host', async () => {
    expect(packedFiles).toContain('LICENSE');
    expect(await readFile(join(installed, 'LICENSE'), 'utf8')).toMatch(
      /^MIT License\n\nCopyright \(c\) \d{4} nestjs-event-stream contributors\n/,
    );
    expect(MANIFEST.license).toBe('MIT');
    // require() of ES modules is on by default from these versions: what the README promises.
    expect(MANIFEST.engines.node).toBe('^20.19.0 || >=22.12.0');
    expect(MANIFEST.repository.type).toBe('git');
    expect(MANIFEST.repository.url, 'set the real URL when the repository is public').not.toMatch(
      /:\/\/|@/,
    );
  });

  it('has declarations that import nothing but its dependencies, required peers and node:', async () => {
    // What a consumer's tsc reads: each entry point's index.d.ts and what it imports, relatively.
    // The OpenAPI entry point may name @nestjs/swagger, which any application importing it has.
    const entries = [
      { entry: 'index.d.ts', extra: [] },
      { entry: join('testing', 'index.d.ts'), extra: [] },
      { entry: join('openapi', 'index.d.ts'), extra: ['@nestjs/swagger'] },
    ];
    const outside: string[] = [];
    for (const { entry, extra } of entries) {
      const allowed = new Set([...requiredModules(), ...extra]);
      const seen = new Set<string>();
      const queue = [join('dist', entry)];
      for (let path = queue.shift(); path !== undefined; path = queue.shift()) {
        if (seen.has(path)) continue;
        seen.add(path);
        const text = await readFile(join(installed, path), 'utf8');
        for (const [, specifier] of text.matchAll(/(?:from |import\()\s*['"]([^'"]+)['"]/g)) {
          if (specifier!.startsWith('.')) {
            queue.push(join(dirname(path), specifier!.replace(/\.js$/, '.d.ts')));
            continue;
          }
          if (specifier!.startsWith('node:')) continue;
          const name = specifier!.startsWith('@')
            ? specifier!.split('/').slice(0, 2).join('/')
            : specifier!.split('/')[0]!;
          if (!allowed.has(name)) outside.push(`${path}: ${specifier}`);
        }
      }
      expect(seen.size, `${entry} reaches its declarations`).toBeGreaterThan(1);
    }
    expect(outside, 'an optional peer in a .d.ts breaks consumers without it').toEqual([]);
  });

  it('type-checks ESM and CommonJS consumers with skipLibCheck: false', async () => {
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const source = [
      "import { memoryBroker, redisBroker, SseHub, SseModule, type SseEvent } from 'nestjs-event-stream';",
      "import { collectEvents } from 'nestjs-event-stream/testing';",
      "const event: SseEvent = { type: 'message', data: 'x' };",
      'export const modules = [SseModule.forRoot({ broker: memoryBroker() }), redisBroker];',
      'export { event, SseHub, collectEvents };',
    ].join('\n');
    const openapiSource = [
      "import { ApiEventStream } from 'nestjs-event-stream/openapi';",
      "export const documented: MethodDecorator = ApiEventStream({ schema: { type: 'string' } });",
    ].join('\n');
    // A CommonJS project is what `nest new` makes: its imports compile to require(). Older
    // ones resolve as node10 (no exports map): typesVersions gives them ./testing and ./openapi.
    // The OpenAPI entry point is checked where @nestjs/swagger is installed.
    const projects = [
      { name: 'esm', type: 'module', options: {}, base: consumer, text: source },
      { name: 'cjs', type: 'commonjs', options: {}, base: consumer, text: source },
      {
        name: 'cjs-node10',
        type: 'commonjs',
        options: { module: 'commonjs', moduleResolution: 'node10' },
        base: consumer,
        text: source,
      },
      {
        name: 'openapi-esm',
        type: 'module',
        options: {},
        base: swaggerConsumer,
        text: openapiSource,
      },
      {
        name: 'openapi-cjs-node10',
        type: 'commonjs',
        options: { module: 'commonjs', moduleResolution: 'node10' },
        base: swaggerConsumer,
        text: openapiSource,
      },
    ];
    for (const { name, type, options, base, text } of projects) {
      const dir = join(base, name);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'package.json'), JSON.stringify({ type }));
      await writeFile(join(dir, 'consumer.ts'), text);
      await writeFile(
        join(dir, 'tsconfig.json'),
        consumerTsconfig({ skipLibCheck: false, experimentalDecorators: true, ...options }),
      );
      await run(process.execPath, [tsc, '-p', dir], { cwd: dir, timeout: 60_000 });
    }
  }, 180_000);
});

describe('the README', () => {
  /** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes. */
  const anchorOf = (heading: string) =>
    heading
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s-]/gu, '')
      .replace(/\s/g, '-');

  it('links only to headings it has', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    // Headings outside code blocks only: a `# comment` in a shell example is not one.
    const prose = readme.replace(/```[\s\S]*?```/g, '');
    const anchors = new Set(
      [...prose.matchAll(/^#{1,6} (.+)$/gm)].map(([, heading]) => anchorOf(heading!)),
    );
    const links = [...prose.matchAll(/\]\(#([^)]+)\)/g)].map(([, anchor]) => anchor!);
    expect(links.length).toBeGreaterThan(10);
    expect(links.filter((anchor) => !anchors.has(anchor))).toEqual([]);
  });
});
