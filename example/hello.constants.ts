/** Injection token of the demo's interval between two `hello` events. */
export const HELLO_INTERVAL_MS = 'HELLO_INTERVAL_MS';
