import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ResponseChannel } from './test-event-stream.js';
import type { TestTarget, TestTlsOptions } from './test-target.js';

/** One HTTP/1.1 request: what `openEventStream` sends. */
export interface ChannelRequest {
  path: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  timeoutMs: number;
  tls: TestTlsOptions;
}

/** Sends the request on a connection of its own and resolves once the response headers arrived. */
export function openHttp1Channel(
  target: TestTarget,
  request: ChannelRequest,
): Promise<ResponseChannel> {
  const url = new URL(request.path, target.origin);
  return new Promise((resolve, reject) => {
    const options = {
      method: request.method,
      headers: request.headers,
      agent: false as const,
    };
    const req = target.secure
      ? httpsRequest(url, {
          ...options,
          ca: request.tls.ca,
          rejectUnauthorized: request.tls.rejectUnauthorized ?? true,
        })
      : httpRequest(url, options);
    const timer = setTimeout(() => {
      req.destroy();
      reject(headersTimeout(request));
    }, request.timeoutMs);
    req.once('response', (response) => {
      clearTimeout(timer);
      resolve(http1Channel(response));
    });
    req.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(request.body);
  });
}

/** A response a request resolved with, as a channel. */
export function http1Channel(response: IncomingMessage): ResponseChannel {
  const closed = new Promise<void>((resolve) => response.once('close', () => resolve()));
  return {
    protocol: '1.1',
    status: response.statusCode ?? 0,
    headers: response.headers,
    body: response,
    resetCode: undefined,
    async cancel() {
      response.destroy();
      await closed;
    },
  };
}

export function headersTimeout(request: ChannelRequest): Error {
  return new Error(
    `Timed out after ${request.timeoutMs} ms waiting for the response headers of ${request.path}`,
  );
}
