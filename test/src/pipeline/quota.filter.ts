import { type ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { QuotaExceededError } from './quota-exceeded.error.js';

/** Answers QuotaExceededError with 429 and a body of its own. */
@Catch(QuotaExceededError)
export class QuotaFilter implements ExceptionFilter {
  catch(error: QuotaExceededError, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<ServerResponse>();
    res.statusCode = 429;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(JSON.stringify({ filtered: true, limit: error.limit, message: error.message }));
  }
}
