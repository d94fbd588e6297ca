// The supervisor dashboard: polls the queues every two seconds and draws the last hour as a chart.
(() => {
  const KEY = 'parley-supervisor';
  const $ = (name) => document.querySelector(`[data-s="${name}"]`);
  let token = localStorage.getItem(KEY);
  const el = (tag, content, attrs = {}) => {
    const e = document.createElement(tag);
    if (content !== undefined) e.textContent = String(content);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    return e;
  };
  const get = async (path) => {
    const res = await fetch(`/api/${path}`, { headers: { authorization: `Bearer ${token}` } });
    if (res.status === 401) { signOut(); throw new Error('signed out'); }
    const json = await res.json();
    if (!res.ok) throw new Error(json.error?.message ?? `HTTP ${res.status}`);
    return json;
  };
  const mmss = (s) => `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;

  /** The last hour of waiting customers (and available agents) as an SVG line chart. */
  function chart(history) {
    const NS = 'http://www.w3.org/2000/svg';
    const w = 360, h = 110, pad = 24;
    const svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', 'Waiting customers and available agents over the last hour');
    const now = Date.now();
    const max = Math.max(1, ...history.map((p) => Math.max(p.waiting, p.agentsAvailable)));
    const x = (t) => pad + ((Date.parse(t) - (now - 3600_000)) / 3600_000) * (w - pad - 4);
    const y = (v) => h - pad + 4 - (v / max) * (h - pad - 8);
    const line = (key, color) => {
      const path = document.createElementNS(NS, 'polyline');
      path.setAttribute('points', history.map((p) => `${x(p.at).toFixed(1)},${y(p[key]).toFixed(1)}`).join(' '));
      path.setAttribute('fill', 'none');
      path.setAttribute('stroke', color);
      path.setAttribute('stroke-width', '2');
      svg.append(path);
    };
    const axis = document.createElementNS(NS, 'line');
    Object.entries({ x1: pad, y1: h - pad + 4, x2: w - 4, y2: h - pad + 4, stroke: '#d9dde5' }).forEach(([k, v]) => axis.setAttribute(k, v));
    svg.append(axis);
    for (const [label, yy] of [[String(max), y(max)], ['0', y(0)]]) {
      const t = document.createElementNS(NS, 'text');
      t.setAttribute('x', '2'); t.setAttribute('y', String(yy + 4)); t.setAttribute('font-size', '10'); t.textContent = label;
      svg.append(t);
    }
    const legend = document.createElementNS(NS, 'text');
    legend.setAttribute('x', String(pad)); legend.setAttribute('y', String(h - 4)); legend.setAttribute('font-size', '10');
    legend.textContent = '— waiting (red) · available agents (green) · last 60 min';
    svg.append(legend);
    line('waiting', '#cf222e');
    line('agentsAvailable', '#1a7f37');
    return svg;
  }

  async function why(sessionId) {
    const r = await get(`supervisor/sessions/${encodeURIComponent(sessionId)}`);
    $('why').hidden = false;
    $('why-title').textContent = `Session ${sessionId}`;
    $('why-offers').replaceChildren(...r.offers.map((o) => {
      const tr = el('tr');
      tr.append(el('td', o.agentId), el('td', o.outcome), el('td', o.decision?.rule ?? '—'), el('td', o.decision?.eligible.join(', ') ?? '—'), el('td', o.decision?.tieBreak ?? '—'));
      return tr;
    }));
    $('why-timeline').replaceChildren(...r.timeline.map((t) => el('li', `${new Date(t.at).toLocaleTimeString()} — ${t.summary}`)));
  }

  async function refresh() {
    if (!token) return;
    try {
      const overview = await get('supervisor/overview');
      $('updated').textContent = `updated ${new Date(overview.at).toLocaleTimeString()}`;
      $('queues').replaceChildren(...overview.queues.map((q) => {
        const card = el('section', undefined, { class: 'card', 'data-queue': q.queueId, 'aria-label': `Queue ${q.queueId}` });
        card.append(el('h2', `Queue ${q.queueId}`));
        const figures = el('div', undefined, { class: 'figures' });
        const figure = (label, value, name) => { const f = el('div', undefined, { class: 'figure', 'data-figure': name }); f.append(el('b', value), el('span', label, { class: 'muted' })); return f; };
        figures.append(
          figure('waiting', q.waiting, 'waiting'),
          figure('longest wait', mmss(q.longestWaitSeconds), 'longest'),
          figure('estimated wait', mmss(q.estimatedWaitSeconds), 'estimated'),
          figure(`service level (${q.serviceLevel.thresholdSeconds} s)`, q.serviceLevel.share === null ? '—' : `${Math.round(q.serviceLevel.share * 100)}%`, 'service-level'),
          figure('agents available', q.agentsByState.available ?? 0, 'available'),
          figure('busy · away · wrap-up', `${q.agentsByState.busy ?? 0} · ${q.agentsByState.away ?? 0} · ${q.agentsByState['wrap-up'] ?? 0}`, 'others'),
        );
        card.append(figures, chart(q.history));
        if (q.waitingSessions.length) {
          const table = el('table');
          const head = el('tr');
          head.append(el('th', 'Waiting session'), el('th', 'Channel'), el('th', 'Waiting'), el('th', 'Offered to'), el('th', ''));
          table.append(head);
          for (const s of q.waitingSessions) {
            const tr = el('tr');
            const b = el('button', 'Why?');
            b.onclick = () => why(s.sessionId).catch((e) => alert(e.message));
            const td = el('td');
            td.append(b);
            tr.append(el('td', s.sessionId.slice(0, 8)), el('td', s.channel), el('td', mmss(s.waitingSeconds)), el('td', s.offeredTo ?? '—'), td);
            table.append(tr);
          }
          card.append(table);
        }
        return card;
      }));
    } catch (err) {
      $('updated').textContent = `not updated: ${err.message}`;
    }
  }

  function signOut() {
    localStorage.removeItem(KEY);
    token = null;
    render();
  }
  $('lookup').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const id = $('session').value.trim();
    if (id) why(id).catch((e) => { $('why').hidden = false; $('why-title').textContent = `Session ${id}: ${e.message}`; $('why-offers').replaceChildren(); $('why-timeline').replaceChildren(); });
  });
  function render() {
    $('lookup').hidden = !token;
    $('login').hidden = !!token;
    $('signout').hidden = !token;
    if (!token) $('queues').replaceChildren();
  }
  $('signout').onclick = async () => {
    await fetch('/api/auth/logout', { method: 'POST', headers: { authorization: `Bearer ${token}` } }).catch(() => undefined);
    signOut();
  };
  $('login').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await fetch('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: $('user').value, password: $('pass').value }) });
    const json = await r.json();
    if (!r.ok || json.role !== 'supervisor') {
      $('login-error').textContent = json.error?.message ?? 'not a supervisor';
      return;
    }
    token = json.token;
    localStorage.setItem(KEY, token);
    render();
    refresh();
  });
  render();
  refresh();
  setInterval(refresh, 2000);
})();
