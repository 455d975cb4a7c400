/**
 * The cost of reading one `Accept` header, worst cases up to Node's 16 KiB header limit.
 *
 *   npx tsc -p bench/tsconfig.json && node bench/dist/bench/accept.js [--iterations N]
 *
 * Each header is new to the dispatcher's cache (a byte varies per call), as an attacker would
 * send it, so every call parses. Prints the median and the worst call per case, in ms.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { chooseHandler } from '../src/negotiation/choose-handler.js';

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '2000' } } });
const iterations = Number(values.iterations);
const NODE_HEADER_LIMIT = 16 * 1024;
const STREAM = 'text/event-stream';

/** Fills a header up to `length` characters with `unit`, after the stream type. */
function filled(unit: string, length: number): string {
  const head = `${STREAM},`;
  return (
    head +
    unit.repeat(Math.ceil((length - head.length) / unit.length)).slice(0, length - head.length)
  );
}

const cases: Array<[string, (variant: number) => string]> = [
  ['16 KiB of commas', (n) => filled(',', NODE_HEADER_LIMIT - 8) + n],
  ['16 KiB of ranges "a/b;q=0.5,"', (n) => filled('a/b;q=0.5,', NODE_HEADER_LIMIT - 8) + n],
  ['16 KiB of quotes and commas', (n) => filled('x="a,b",', NODE_HEADER_LIMIT - 8) + n],
  ['2 KiB of commas (just under the cap)', (n) => filled(',', 2040) + n],
  [
    '32 ranges with long parameters (under the cap)',
    (n) =>
      [
        STREAM,
        ...Array.from({ length: 31 }, (_, i) => `a/b${i};p=${'v'.repeat(50)};q=0.${(i % 9) + 1}`),
      ]
        .join(',')
        .slice(0, 2040) + n,
  ],
  [
    '33 short ranges (past the range cap)',
    (n) => [STREAM, ...Array.from({ length: 32 }, (_, i) => `a/b${i}`)].join(',') + n,
  ],
  ["a browser's EventSource", (n) => `${STREAM}${n % 2 === 0 ? '' : ' '}`],
  [
    "a browser's page load",
    (n) =>
      `text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8${' '.repeat(n % 3)}`,
  ],
];

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

const ROUNDS = 5;
console.log(
  `chooseHandler, ${iterations} distinct headers per case, ${ROUNDS} rounds (Node ${process.version})`,
);
console.log(
  'worst: the slowest header, each header timed at its best of the rounds (no scheduler noise)\n',
);
console.log('| case | length | median ms | p99 ms | worst ms |');
console.log('|---|---:|---:|---:|---:|');
for (const [name, make] of cases) {
  const headers = Array.from({ length: iterations }, (_, n) => make(n));
  for (const header of headers.slice(0, 50)) chooseHandler(header, true); // warm-up
  const all: number[] = [];
  const best = Array.from({ length: headers.length }, () => Infinity);
  for (let round = 0; round < ROUNDS; round++) {
    for (let n = 0; n < headers.length; n++) {
      const start = performance.now();
      chooseHandler(headers[n]!, n % 2 === 0);
      const took = performance.now() - start;
      all.push(took);
      best[n] = Math.min(best[n]!, took);
    }
  }
  all.sort((a, b) => a - b);
  const worst = Math.max(...best);
  console.log(
    `| ${name} | ${headers[0]!.length} | ${percentile(all, 0.5).toFixed(4)} | ${percentile(all, 0.99).toFixed(4)} | ${worst.toFixed(4)} |`,
  );
}
