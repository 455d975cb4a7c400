import { UnsupportedPlatformError } from '../errors/unsupported-platform.error.js';
import { STREAM_CONTEXT_KEY } from '../sse.constants.js';
import { appStreamContext, expressGlue } from './express.glue.js';
import { fastifyGlue } from './fastify.glue.js';
import type { RouteGlue, StreamContext } from './route-glue.interface.js';

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

/**
 * The context an `@EventStream()` handler serves its stream from: the one its dispatcher left on
 * the response, else (Express) its application's registry on the Express app; `undefined` when
 * the route did not pass through the module.
 */
export function streamContextOf(response: object): StreamContext | undefined {
  return (
    (response as { [STREAM_CONTEXT_KEY]?: StreamContext })[STREAM_CONTEXT_KEY] ??
    appStreamContext(response)
  );
}
