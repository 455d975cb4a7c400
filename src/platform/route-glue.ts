import { UnsupportedPlatformError } from '../errors/unsupported-platform.error.js';
import { expressGlue } from './express.glue.js';
import { fastifyGlue } from './fastify.glue.js';
import type { RouteGlue } from './route-glue.interface.js';

const GLUES: readonly RouteGlue[] = [expressGlue, fastifyGlue];

/**
 * The route glue of an HTTP adapter, from `httpAdapter.getType()`; any other adapter is refused
 * with an {@link UnsupportedPlatformError}.
 */
export function routeGlueFor(adapter: { getType?: () => string }): RouteGlue {
  const type = typeof adapter.getType === 'function' ? adapter.getType() : 'unknown';
  const glue = GLUES.find((candidate) => candidate.type === type);
  if (glue === undefined) {
    throw new UnsupportedPlatformError(
      String(type),
      GLUES.map((candidate) => candidate.type),
    );
  }
  return glue;
}
