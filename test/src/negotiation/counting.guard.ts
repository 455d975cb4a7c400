import { type CanActivate, Injectable } from '@nestjs/common';
import { CallLog } from '../../support/call-log.js';

/** A global guard that lets everything through and counts how often it ran (a rate limiter's view). */
@Injectable()
export class CountingGuard implements CanActivate {
  constructor(private readonly log: CallLog) {}

  canActivate(): boolean {
    this.log.record('global-guard');
    return true;
  }
}
