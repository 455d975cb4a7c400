/**
 * Where a benchmarked server's CPU went, from the `.cpuprofile` that `--server-flags="--cpu-prof
 * --cpu-prof-dir=DIR"` makes: self time per function, grouped by where the code lives (the
 * library's `src/`, Nest, Express, RxJS, Node itself, GC), per cycle.
 *
 *   node bench/dist/bench/profile-top.js FILE.cpuprofile [--cycles 4200] [--top 25]
 *
 * `--cycles`: the cycles the profiled process ran (churn: 200 warm-up + 2 × 2000 = 4200), to
 * report µs per cycle. The profile covers the whole process, start-up included (Nest's
 * bootstrap: in the Nest and Node groups, not in `src/`).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    cycles: { type: 'string' },
    top: { type: 'string' },
    /** Also list who calls the functions of this name (self time by caller chain). */
    callers: { type: 'string' },
  },
});
const cycles = Number(values.cycles ?? 4200);
const top = Number(values.top ?? 25);

/** Largest first; the array is a fresh copy (`toSorted()` is past this project's lib). */
function largestFirst<V>(
  entries: Iterable<[string, V]>,
  size: (v: V) => number,
): Array<[string, V]> {
  // oxlint-disable-next-line unicorn/no-array-sort -- sorts its own copy
  return [...entries].sort((a, b) => size(b[1]) - size(a[1]));
}

function groupOf(url: string, name: string): string {
  if (url.includes('@nestjs/')) return 'Nest';
  if (/node_modules\/(express|router|body-parser|finalhandler|send|serve-static)\//.test(url))
    return 'Express';
  if (url.includes('node_modules/rxjs/')) return 'RxJS';
  if (url.includes('node_modules/')) return 'other packages';
  // The servers run the library compiled with the bench: bench/dist/src/.
  if (url.includes('/dist/src/')) return 'library (src/)';
  if (url.includes('/bench/')) return 'bench harness';
  if (url.startsWith('node:')) return 'Node (JS)';
  if (name === '(garbage collector)') return 'GC';
  if (name === '(idle)') return 'idle';
  return `native ${name || '(anonymous)'}`;
}

for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const byFunction = new Map<string, { us: number; group: string }>();
  const byGroup = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const group = groupOf(url, functionName);
    byGroup.set(group, (byGroup.get(group) ?? 0) + us);
    if (group !== 'idle') busy += us;
    const where = url.includes('/dist/src/')
      ? `src/${url.slice(url.indexOf('/dist/src/') + 10)}`
      : url.replace(/^.*?\/(node_modules|bench)\//, '$1/');
    const key = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
    const entry = byFunction.get(key) ?? { us: 0, group };
    entry.us += us;
    byFunction.set(key, entry);
  }
  const perCycle = (us: number) => (us / cycles).toFixed(1);
  // Inclusive time under the places where the library (or the bench's own handler) is entered
  // from outside: what a call into it costs with everything it calls (Node's writes included).
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const inclusive = new Map<number, number>();
  const totalOf = (id: number): number => {
    const known = inclusive.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id)!;
    let us = selfUs.get(id) ?? 0;
    for (const c of node.children ?? []) us += totalOf(c);
    inclusive.set(id, us);
    return us;
  };
  const ownCode = (id: number) => {
    const { url, functionName } = byId.get(id)!.callFrame;
    const group = groupOf(url, functionName);
    return group === 'library (src/)' || group === 'bench harness';
  };
  const entries = new Map<string, number>();
  let entered = 0;
  const outermost = (id: number) => {
    for (let p = parentOf.get(id); p !== undefined; p = parentOf.get(p))
      if (ownCode(p)) return false;
    return true;
  };
  for (const n of profile.nodes) {
    if (!ownCode(n.id) || !outermost(n.id)) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const where = url.includes('/dist/src/')
      ? `src/${url.slice(url.indexOf('/dist/src/') + 10)}`
      : url.replace(/^.*?\/bench\//, 'bench/');
    const key = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
    const us = totalOf(n.id);
    entries.set(key, (entries.get(key) ?? 0) + us);
    entered += us;
  }
  console.log(`## ${file}`);
  console.log(
    `busy ${(busy / 1000).toFixed(0)} ms = ${perCycle(busy)} µs per cycle over ${cycles} cycles\n`,
  );
  console.log('| group | ms | µs/cycle | share of busy |\n|---|---:|---:|---:|');
  for (const [group, us] of largestFirst(byGroup, (t) => t)) {
    if (group === 'idle') continue;
    console.log(
      `| ${group} | ${(us / 1000).toFixed(0)} | ${perCycle(us)} | ${((100 * us) / busy).toFixed(1)} % |`,
    );
  }
  console.log(
    `\nInside the outermost calls into src/ or the bench's own code (inclusive: with the Node, Nest and RxJS code they call): ${perCycle(entered)} µs per cycle\n`,
  );
  console.log('| entered at | µs/cycle |\n|---|---:|');
  for (const [key, us] of largestFirst(entries, (t) => t).slice(0, 12)) {
    console.log(`| \`${key}\` | ${perCycle(us)} |`);
  }
  const src = [...byFunction].filter(([, v]) => v.group === 'library (src/)');
  console.log(`\nTop self time inside src/ (${src.length} functions sampled):\n`);
  console.log('| function | µs/cycle | ms |\n|---|---:|---:|');
  for (const [key, v] of largestFirst(src, (t) => t.us).slice(0, top)) {
    console.log(`| \`${key}\` | ${perCycle(v.us)} | ${(v.us / 1000).toFixed(1)} |`);
  }
  console.log(`\nTop self time overall:\n`);
  console.log('| function | group | µs/cycle |\n|---|---|---:|');
  const all = [...byFunction].filter(([, v]) => v.group !== 'idle');
  for (const [key, v] of largestFirst(all, (t) => t.us).slice(0, top)) {
    console.log(`| \`${key}\` | ${v.group} | ${perCycle(v.us)} |`);
  }
  if (values.callers !== undefined) {
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const chains = new Map<string, number>();
    for (const [id, us] of selfUs) {
      if (byId.get(id)!.callFrame.functionName !== values.callers) continue;
      const chain: string[] = [];
      for (let p = parent.get(id); p !== undefined && chain.length < 6; p = parent.get(p)) {
        const { functionName, url, lineNumber } = byId.get(p)!.callFrame;
        chain.push(
          `${functionName || '(anonymous)'} ${url.replace(/^.*\//, '')}:${lineNumber + 1}`,
        );
      }
      const key = chain.join(' ← ');
      chains.set(key, (chains.get(key) ?? 0) + us);
    }
    console.log(`\nCallers of ${values.callers}:\n`);
    for (const [chain, us] of largestFirst(chains, (t) => t).slice(0, 8)) {
      console.log(`- ${perCycle(us)} µs/cycle: ${chain}`);
    }
  }
  console.log('');
}
