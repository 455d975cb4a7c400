/** The seed's browser side: an EventSource on the same origin, each event shown as it arrives. */
export const DEMO_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>nestjs-event-stream demo</title>
  <style>
    body { font: 16px/1.4 system-ui, sans-serif; margin: 2rem; }
    #state { color: #666; }
    li { font-family: ui-monospace, monospace; }
  </style>
</head>
<body>
  <h1>Server-Sent Events</h1>
  <p id="state">connecting…</p>
  <ol id="events"></ol>
  <script>
    const state = document.getElementById('state');
    const list = document.getElementById('events');
    const source = new EventSource('/');
    source.addEventListener('open', () => { state.textContent = 'open'; });
    source.addEventListener('error', () => { state.textContent = 'reconnecting…'; });
    source.addEventListener('message', (event) => {
      const item = document.createElement('li');
      item.textContent = event.data + ' (id ' + event.lastEventId + ')';
      list.appendChild(item);
    });
  </script>
</body>
</html>
`;
