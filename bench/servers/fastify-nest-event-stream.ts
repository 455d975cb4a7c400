/**
 * nestjs-event-stream (servers/nest-event-stream.ts) on `FastifyAdapter` over HTTP/1.1.
 * The same module as the Express row, so that the rows differ by the platform alone.
 *
 * GET /events: the stream. GET /churn: the same stream, opened with one event of its own.
 */
process.argv.push('--adapter', 'fastify');
await import('./nest-event-stream.js');
