import { HttpCode, RequestMapping, RequestMethod, Version } from '@nestjs/common';
import { EVENT_STREAM_METADATA } from '../sse.constants.js';

type Handler = (...args: unknown[]) => unknown;

/**
 * The key a Nest decorator writes, found by running its public decorator on a probe, rather
 * than by a deep import of `@nestjs/common/constants`.
 */
function keyWritten(decorator: MethodDecorator, value: unknown): unknown {
  const probe = { value: () => undefined };
  decorator({}, 'probe', probe);
  return Reflect.getMetadataKeys(probe.value).find(
    (key) => Reflect.getMetadata(key, probe.value) === value,
  );
}

const PATH_KEY = keyWritten(
  RequestMapping({ path: 'probe-path', method: RequestMethod.PATCH }),
  'probe-path',
);
const METHOD_KEY = keyWritten(
  RequestMapping({ path: 'probe-path', method: RequestMethod.PATCH }),
  RequestMethod.PATCH,
);
const VERSION_KEY = keyWritten(Version('probe-version'), 'probe-version');
const HTTP_CODE_KEY = keyWritten(HttpCode(299), 299);

interface Route {
  method: RequestMethod;
  paths: string;
  version: string;
}

/** Where a handler is mapped, in a form two twins compare equal in; undefined for a non-route. */
function routeOf(handler: Handler): Route | undefined {
  const path = Reflect.getMetadata(PATH_KEY, handler) as string | string[] | undefined;
  if (path === undefined) return undefined;
  // '', '/' and 'a/' name the same route as '/a'.
  const paths = (Array.isArray(path) ? path : [path]).map((p) => p.replace(/^\/+|\/+$/g, ''));
  return {
    method: (Reflect.getMetadata(METHOD_KEY, handler) as RequestMethod | undefined) ?? 0,
    paths: JSON.stringify([...new Set(paths)].toSorted()),
    version: JSON.stringify(Reflect.getMetadata(VERSION_KEY, handler) ?? null),
  };
}

/** Every method name a controller has, its own and inherited, as Swagger scans them. */
function methodNames(prototype: object): string[] {
  const names = new Set<string>();
  for (let p = prototype; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const name of Object.getOwnPropertyNames(p)) {
      if (name !== 'constructor') names.add(name);
    }
  }
  return [...names];
}

/**
 * The name of the plain handler (no `@EventStream()`) mapped to the same method, path and version
 * as the stream handler `key`: the route dispatcher pairs these two, and Swagger, which keeps one
 * operation per path and method, would keep whichever is declared last.
 */
export function plainTwinOf(prototype: object, key: string | symbol): string | undefined {
  const methods = prototype as Record<string | symbol, unknown>;
  const stream = routeOf(methods[key] as Handler);
  if (stream === undefined) return undefined;
  return methodNames(prototype).find((name) => {
    const candidate = methods[name];
    if (name === key || typeof candidate !== 'function') return false;
    if (Reflect.getMetadata(EVENT_STREAM_METADATA, candidate) !== undefined) return false;
    const route = routeOf(candidate as Handler);
    return (
      route !== undefined &&
      route.method === stream.method &&
      route.paths === stream.paths &&
      route.version === stream.version
    );
  });
}

/** The status Nest answers a plain handler with: `@HttpCode()`, else 201 for POST, else 200. */
export function plainStatusOf(handler: Handler): number {
  const code = Reflect.getMetadata(HTTP_CODE_KEY, handler) as number | undefined;
  if (code !== undefined) return code;
  return Reflect.getMetadata(METHOD_KEY, handler) === RequestMethod.POST ? 201 : 200;
}
