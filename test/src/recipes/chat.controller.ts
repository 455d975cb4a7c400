import { Body, Controller, Get, Header, RequestMethod } from '@nestjs/common';
import { EventStream, EventStreamSignal, type SseEvent } from '../../../src/index.js';
import { FakeModel } from './fake-model.js';

/** What the chat client posts. */
export interface ChatRequest {
  prompt: string;
}

/** The README's LLM recipe: a token stream answering a POST, for a fetch()-based client. */
@Controller()
export class ChatController {
  constructor(private readonly model: FakeModel) {}

  /** A page of this origin for the browser test to run its fetch() client in. */
  @Get('chat')
  @Header('Content-Type', 'text/html; charset=utf-8')
  page(): string {
    return '<!doctype html><title>chat</title>';
  }

  @EventStream('chat', { method: RequestMethod.POST })
  async *answer(
    @Body() body: ChatRequest,
    @EventStreamSignal() signal: AbortSignal,
  ): AsyncGenerator<SseEvent> {
    let tokens = 0;
    for await (const token of this.model.complete(body.prompt, signal)) {
      tokens++;
      yield { type: 'token', data: token };
    }
    yield { type: 'done', data: { tokens } };
  }
}
