/** A domain error that only the fixture's own exception filter knows how to answer. */
export class QuotaExceededError extends Error {
  constructor(readonly limit: number) {
    super(`Quota of ${limit} streams exceeded`);
  }
}
