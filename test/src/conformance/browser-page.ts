/**
 * A page that opens `count` EventSources on its own origin and keeps, per source, its state and
 * the data of every message (`window.sources`), for the browser test to read.
 */
export function browserPage(count: number, path = '/events'): string {
  return `<!doctype html>
<meta charset="utf-8">
<title>${count} EventSources</title>
<script>
  window.sources = [];
  for (let i = 0; i < ${count}; i++) {
    const source = new EventSource(${JSON.stringify(path)} + '?i=' + i);
    const record = { source, messages: [] };
    source.onmessage = (event) => record.messages.push(event.data);
    window.sources.push(record);
  }
</script>`;
}
