import 'reflect-metadata';
import { type INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openEventStream } from '../../src/testing/index.js';
import { OpenApiAppModule } from '../src/openapi/openapi-app.module.js';

// The document @nestjs/swagger generates for an application with paired and stream-only routes
// documented with @ApiEventStream(): what a client generator or Swagger UI reads.

const EVENT_STREAM = 'text/event-stream';
const JSON_TYPE = 'application/json';

let app: INestApplication;
let document: OpenAPIObject;

beforeAll(async () => {
  const moduleRef = await Test.createTestingModule({ imports: [OpenApiAppModule] }).compile();
  app = moduleRef.createNestApplication({ logger: false });
  // As apps do: the document is built before init (and listen).
  document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder().setOpenAPIVersion('3.2.0').build(),
  );
  await app.init();
});

afterAll(async () => {
  await app.close();
});

/** The operations of a path, by method. */
function operations(path: string): Record<string, Record<string, any>> {
  const item = document.paths[path];
  expect(item, `no path ${path} in the document`).toBeDefined();
  return item as Record<string, Record<string, any>>;
}

describe('a paired route (a plain handler and an @EventStream() of one path and method)', () => {
  it('is one operation, the plain handler, with application/json and text/event-stream', () => {
    const { get, ...others } = operations('/articles');
    expect(Object.keys(others)).toEqual([]);
    expect(get!.operationId).toBe('ArticlesController_list');
    expect(Object.keys(get!.responses['200'].content).toSorted()).toEqual([JSON_TYPE, EVENT_STREAM]);
  });

  it("keeps the plain handler's docs: summary, parameters, its schema and other responses", () => {
    const { get } = operations('/articles');
    expect(get!.summary).toBe('List the articles');
    expect(get!.parameters).toEqual([
      expect.objectContaining({ name: 'tag', in: 'query', required: false }),
    ]);
    expect(get!.responses['200'].content[JSON_TYPE]).toEqual({
      schema: { type: 'array', items: { $ref: '#/components/schemas/Article' } },
    });
    expect(get!.responses['404']).toEqual({ description: 'No article has this tag.' });
    expect(get!.responses['200'].description).toBe(
      'The articles.\n\nArticles as they are published.',
    );
    // The class the plain response names is still written out.
    expect(document.components?.schemas?.Article).toMatchObject({
      properties: { id: { type: 'string' }, title: { type: 'string' } },
    });
  });

  it('describes each event with OpenAPI 3.2 itemSchema: JSON data, named events', () => {
    const media = operations('/articles').get!.responses['200'].content[EVENT_STREAM];
    expect(media.schema).toEqual({ type: 'string' });
    const [message, deleted] = media.itemSchema.oneOf;
    expect(message).toMatchObject({
      type: 'object',
      required: ['data'],
      properties: {
        event: { type: 'string', enum: ['message'] },
        data: {
          type: 'string',
          contentMediaType: JSON_TYPE,
          contentSchema: { $ref: '#/components/schemas/Article' },
        },
        id: { type: 'string' },
        retry: { type: 'integer', minimum: 0 },
      },
    });
    expect(deleted).toMatchObject({
      description: 'The id of a deleted article.',
      required: ['event', 'data'],
      properties: { event: { enum: ['deleted'] }, data: { type: 'string' } },
    });
    expect(media.itemSchema.oneOf).toHaveLength(2);
  });

  it('is the same when the stream handler comes first and @ApiEventStream() is above @EventStream()', () => {
    const { get } = operations('/prices');
    expect(get!.operationId).toBe('PricesController_current');
    expect(get!.summary).toBe('The current price');
    expect(get!.responses['200'].content).toEqual({
      [JSON_TYPE]: { schema: { type: 'number' }, example: 101.5 },
      [EVENT_STREAM]: { schema: { type: 'string' } },
    });
    expect(get!.responses['406']).toBeUndefined();
  });

  it('gets an application/json media type even when the plain handler documents no response', () => {
    const { get } = operations('/bare');
    expect(get!.summary).toBe('Bare');
    expect(get!.responses['200'].content).toEqual({
      [JSON_TYPE]: {},
      [EVENT_STREAM]: { schema: { type: 'string' } },
    });
  });

  it("documents a POST's 201 (plain) and 200 (stream) as two responses of one operation", () => {
    const { post } = operations('/jobs');
    expect(post!.operationId).toBe('JobsController_create');
    expect(post!.responses['201']).toEqual({
      description: 'The job was queued.',
      content: { [JSON_TYPE]: { schema: { type: 'object' } } },
    });
    expect(post!.responses['200']).toEqual({
      description: 'The job run, step by step.',
      content: { [EVENT_STREAM]: { schema: { type: 'string' } } },
    });
  });

  it('without @ApiEventStream(), loses the plain docs to the stream twin declared last (why it exists)', () => {
    const { get } = operations('/undocumented');
    expect(get!.operationId).toBe('UndocumentedController_stream');
    expect(get!.summary).toBeUndefined();
  });
});

describe('a stream-only route', () => {
  it('is documented as text/event-stream with a 406, and keeps its own docs', () => {
    const { get } = operations('/ticks');
    expect(get!.summary).toBe('Clock ticks');
    expect(Object.keys(get!.responses).toSorted()).toEqual(['200', '406']);
    expect(get!.responses['200']).toMatchObject({
      description: 'One tick a second.',
      content: {
        [EVENT_STREAM]: {
          schema: { type: 'string' },
          itemSchema: {
            properties: {
              data: { contentMediaType: JSON_TYPE, contentSchema: { type: 'integer' } },
            },
          },
        },
      },
    });
    expect(Object.keys(get!.responses['200'].content)).toEqual([EVENT_STREAM]);
    expect(get!.responses['406'].description).toContain('does not accept text/event-stream');
  });
});

describe('the documented routes still answer as before', () => {
  it('serves the plain handler to a JSON client and the stream to an event-stream client', async () => {
    await request(app.getHttpServer())
      .get('/articles')
      .set('Accept', JSON_TYPE)
      .expect(200, [{ id: '1', title: 'Hello' }]);
    const stream = await openEventStream(app, { path: '/articles' });
    await stream.waitForEnd();
    expect(stream.events.map(({ event, data }) => [event, data])).toEqual([
      [undefined, '{"id":"1","title":"Hello"}'],
      ['deleted', '1'],
    ]);
  });

  it('answers 406 on the stream-only route, as documented', async () => {
    await request(app.getHttpServer()).get('/ticks').set('Accept', JSON_TYPE).expect(406);
  });
});

describe('@nestjs/swagger is an optional peer', () => {
  it('the main entry imports without it; only nestjs-event-stream/openapi needs it', async () => {
    vi.resetModules();
    vi.doMock('@nestjs/swagger', () => {
      throw new Error("Cannot find package '@nestjs/swagger'");
    });
    try {
      const main = await import('../../src/index.js');
      expect(typeof main.EventStream).toBe('function');
      expect(typeof main.SseModule).toBe('function');
      // The control: the mock does stop whatever imports @nestjs/swagger.
      const refusal: unknown = await import('../../src/openapi/index.js').then(
        () => undefined,
        (error: unknown) => error,
      );
      expect((refusal as Error | undefined)?.cause).toMatchObject({
        message: "Cannot find package '@nestjs/swagger'",
      });
    } finally {
      vi.doUnmock('@nestjs/swagger');
      vi.resetModules();
    }
  });
});
