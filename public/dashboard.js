// Airlock dashboard: live counters and lists over server-sent events (GET /ui/live).
// Elements with data-live="<name>" show that counter; an element with
// data-live-reload="<name>" data-version="<value>" is fetched again from the page's own URL
// when that counter no longer has the value it was rendered with. Only a visible tab listens:
// a browser keeps six connections per host over HTTP/1.1, and tabs in the background must not
// hold them all.
(() => {
  if (!('EventSource' in window) || !document.querySelector('[data-live], [data-live-reload]')) {
    return;
  }
  let source = null;
  const listen = () => {
    if (document.visibilityState === 'hidden') {
      source?.close();
      source = null;
    } else if (!source) {
      source = new EventSource('/ui/live');
      source.addEventListener('counters', show);
    }
  };
  document.addEventListener('visibilitychange', listen);
  window.addEventListener('pagehide', () => {
    source?.close();
    source = null;
  });
  // Back from the browser's page cache: listen again.
  window.addEventListener('pageshow', listen);
  listen();

  function show(message) {
    const counters = JSON.parse(message.data);
    for (const element of document.querySelectorAll('[data-live]')) {
      const value = counters[element.dataset.live];
      if (value === undefined) continue;
      element.textContent = String(value);
      element.toggleAttribute('data-zero', value === 0);
    }
    for (const element of document.querySelectorAll('[data-live-reload]')) {
      const value = counters[element.dataset.liveReload];
      if (value !== undefined && String(value) !== element.dataset.version) void reload(element);
    }
  }

  const loading = new Set();
  async function reload(element) {
    if (loading.has(element.id)) return;
    loading.add(element.id);
    try {
      await replace(element);
    } finally {
      loading.delete(element.id);
    }
  }

  async function replace(element) {
    const response = await fetch(window.location.href, { headers: { accept: 'text/html' } });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), 'text/html');
    const fresh = page.getElementById(element.id);
    if (fresh) element.replaceWith(fresh);
  }
})();
