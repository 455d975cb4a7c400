import { Controller, Get, NotFoundException, Query } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiQuery } from '@nestjs/swagger';
import { type Observable, of } from 'rxjs';
import { EventStream, type SseEvent } from '../../../src/index.js';
import { ApiEventStream } from '../../../src/openapi/index.js';
import { Article } from './article.model.js';

const ARTICLES: Article[] = [{ id: '1', title: 'Hello' }];

/**
 * A paired route, the plain handler declared first and documented in full; the stream handler's
 * @ApiEventStream() sits below @EventStream() and describes its events.
 */
@Controller('articles')
export class ArticlesController {
  @Get()
  @ApiOperation({ summary: 'List the articles' })
  @ApiQuery({ name: 'tag', required: false, type: String })
  @ApiOkResponse({ description: 'The articles.', type: Article, isArray: true })
  @ApiNotFoundResponse({ description: 'No article has this tag.' })
  list(@Query('tag') tag?: string): Article[] {
    if (tag === 'none') throw new NotFoundException();
    return ARTICLES;
  }

  @EventStream()
  @ApiEventStream({
    description: 'Articles as they are published.',
    type: Article,
    events: {
      deleted: { description: 'The id of a deleted article.', schema: { type: 'string' } },
    },
  })
  changes(): Observable<SseEvent> {
    return of({ data: ARTICLES[0] }, { type: 'deleted', data: '1' });
  }
}
