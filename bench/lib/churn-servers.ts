import { dirname, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';

const servers = resolvePath(dirname(fileURLToPath(import.meta.url)), '../servers');

/** The servers a churn tool knows by name: issue 11's floor, ours, and Nest's `@Sse()`. */
const KNOWN: Record<string, string> = {
  minimal: resolvePath(servers, 'nest-minimal.js'),
  ours: resolvePath(servers, 'nest-event-stream.js'),
  builtin: resolvePath(servers, 'nest-builtin.js'),
};

/** A server of a churn tool's `--servers`, with the script it runs. */
export interface ChurnServer {
  name: string;
  script: string;
}

/**
 * Parses `--servers a,b,name=path`: a known name, or `name=path` for a server of its own (another
 * build of ours, for an A/B; the same one twice, for an A/A). Returns the unknown name instead.
 */
export function parseChurnServers(list: string): ChurnServer[] | { unknown: string } {
  const parsed: ChurnServer[] = [];
  for (const entry of list.split(',')) {
    const [name = '', path] = entry.split('=');
    const script = path === undefined ? KNOWN[name] : resolvePath(path);
    if (script === undefined) return { unknown: name };
    parsed.push({ name, script });
  }
  return parsed;
}
