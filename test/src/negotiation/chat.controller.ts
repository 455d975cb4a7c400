import { Body, Controller, type MessageEvent, Post, RequestMethod } from '@nestjs/common';
import { type Observable, of } from 'rxjs';
import { EventStream } from '../../../src/index.js';

export interface ChatRequest {
  prompt: string;
}

/** A POST endpoint that streams its answer to clients that ask for it, as LLM APIs do. */
@Controller('chat')
export class ChatController {
  @Post()
  plain(@Body() body: ChatRequest): { handler: string; prompt: string } {
    return { handler: 'chat.plain', prompt: body.prompt };
  }

  @EventStream(undefined, { method: RequestMethod.POST })
  stream(@Body() body: ChatRequest): Observable<MessageEvent> {
    return of({ type: 'answer', data: { echo: body.prompt } });
  }
}
