import type {
  PortCloseListener,
  StreamPortOptions,
  StreamRequestMessage,
  StreamResponseMessage,
} from './stream-port.interface.js';
import { clientAddressOf } from './stream-headers.js';

/**
 * What every port on Node's raw request and response shares, HTTP/1.1 or HTTP/2: the request,
 * the client's address, the close events of the response, and the one take-over from the
 * framework before the first answer.
 */
export abstract class RawPort<Req extends StreamRequestMessage, Res extends StreamResponseMessage> {
  private readonly givenAddress?: string;
  private takeOver?: () => void;

  constructor(
    readonly request: Req,
    protected readonly res: Res,
    options: StreamPortOptions,
  ) {
    this.givenAddress = options.clientAddress;
    this.takeOver = options.takeOver;
  }

  get clientAddress(): string | undefined {
    // On demand: Express's `req.ip` (which honours `trust proxy`, as Fastify's does) is not free.
    return this.givenAddress ?? clientAddressOf(this.request);
  }

  get closeKey(): object {
    return this.res;
  }

  get answered(): boolean {
    return this.res.headersSent;
  }

  onClose(listener: PortCloseListener): void {
    // `on`, not `once` (which wraps the listener): offClose() removes it either way.
    this.res.on('close', listener);
  }

  offClose(listener: PortCloseListener): void {
    this.res.off('close', listener);
  }

  /** Lets the framework go of the response (Fastify's hijack), once, before the first answer. */
  protected takenOver(): void {
    const takeOver = this.takeOver;
    this.takeOver = undefined;
    takeOver?.();
  }
}
