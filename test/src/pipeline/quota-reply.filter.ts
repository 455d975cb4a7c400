import { type ArgumentsHost, Catch, type ExceptionFilter, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { QuotaExceededError } from './quota-exceeded.error.js';

/**
 * Answers QuotaExceededError with 429 and a body of its own through the HTTP adapter, as a
 * filter that runs on Express and Fastify alike must (a FastifyReply has no `setHeader`/`end`).
 */
@Catch(QuotaExceededError)
@Injectable()
export class QuotaReplyFilter implements ExceptionFilter {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(error: QuotaExceededError, host: ArgumentsHost): void {
    const { httpAdapter } = this.adapterHost;
    httpAdapter.reply(
      host.switchToHttp().getResponse(),
      { filtered: true, limit: error.limit, message: error.message },
      429,
    );
  }
}
