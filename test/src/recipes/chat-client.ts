/** One event as the chat client reads it. */
export interface ChatEvent {
  event: string;
  data: string;
}

/**
 * The README's fetch() client for a POST stream (`EventSource` only does GET), as it runs in
 * the browser: it posts the prompt, reads the response body as it arrives, and splits it into
 * events (this server ends lines with `\n` only). Self-contained: the browser test sends its
 * source to the page.
 */
export async function streamChat(
  url: string,
  prompt: string,
  onEvent: (event: ChatEvent) => void,
  signal?: AbortSignal,
): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ prompt }),
    signal,
  });
  if (!response.ok || response.body === null) throw new Error(`HTTP ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
        else if (line === 'data:') data.push('');
      }
      if (data.length > 0) onEvent({ event, data: data.join('\n') });
    }
  }
}
