// The supervisor dashboard: queues, agents and live conversations pushed over a WebSocket as events happen;
// KPIs per queue and interval as SVG charts; session search; a read-only view of a conversation with whisper and
// take-over for supervisors allowed to.
(() => {
  const KEY = 'parley-supervisor';
  const $ = (name) => document.querySelector(`[data-s="${name}"]`);
  let token = localStorage.getItem(KEY);
  let socket;
  let retry = 0;
  let me = null;
  let dash = null;
  let viewing = null;
  const el = (tag, content, attrs = {}) => {
    const e = document.createElement(tag);
    if (content !== undefined && content !== null) e.textContent = String(content);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    return e;
  };
  const request = async (method, path, body) => {
    const res = await fetch(`/api/${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    if (res.status === 401) {
      signOut();
      throw new Error('Signed out: please sign in again.');
    }
    const json = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(json.error?.message ?? `HTTP ${res.status}`);
    return json;
  };
  const get = (path) => request('GET', path);
  const post = (path, body) => request('POST', path, body ?? {});
  const mmss = (s) => {
    s = Math.max(0, Math.round(s));
    return s >= 3600
      ? `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`
      : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  };
  const since = (iso) => (Date.now() - Date.parse(iso)) / 1000;
  let errorTimer;
  function showError(message) {
    $('error').hidden = false;
    $('error').textContent = message;
    clearTimeout(errorTimer);
    errorTimer = setTimeout(() => {
      $('error').hidden = true;
    }, 10000);
  }

  // ---- charts (SVG, drawn here: no library) ----
  const NS = 'http://www.w3.org/2000/svg';
  const svgEl = (tag, attrs = {}, text) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const niceMax = (v) => {
    if (v <= 1) return 1;
    const p = 10 ** Math.floor(Math.log10(v));
    const m = v / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  };
  /**
   * A chart with axes, grid lines and a legend: `kind` line or bar; series of values over the same x labels.
   */
  function chart({ kind, labels, series, label, yMax, yFormat = (v) => String(v) }) {
    const W = 560,
      H = 220,
      L = 44,
      R = 10,
      T = 12,
      B = 34;
    // Counts and seconds get whole-number ticks: at least 4, in steps of a quarter of a round maximum.
    const top = Math.max(1, ...series.flatMap((s) => s.values.filter((v) => v !== null)));
    const max = yMax ?? (top <= 4 ? 4 : top <= 20 ? Math.ceil(top / 4) * 4 : niceMax(top));
    const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label, class: 'chart' });
    const x0 = L,
      x1 = W - R,
      y0 = H - B,
      y1 = T;
    const y = (v) => y0 - (v / max) * (y0 - y1);
    for (let i = 0; i <= 4; i++) {
      const v = (max / 4) * i;
      svg.append(svgEl('line', { x1: x0, x2: x1, y1: y(v), y2: y(v), stroke: i === 0 ? '#8c95a6' : '#e3e6eb' }));
      svg.append(svgEl('text', { x: x0 - 6, y: y(v) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#3d4555' }, yFormat(Math.round(v * 10) / 10)));
    }
    const n = Math.max(1, labels.length);
    const step = (x1 - x0) / n;
    const xc = (i) => x0 + step * (i + 0.5);
    const every = Math.max(1, Math.ceil(n / 6));
    labels.forEach((l, i) => {
      if (i % every === 0) svg.append(svgEl('text', { x: xc(i), y: H - B + 16, 'text-anchor': 'middle', 'font-size': 11, fill: '#3d4555' }, l));
    });
    if (kind === 'bar') {
      const bw = Math.max(2, (step * 0.8) / series.length);
      series.forEach((s, si) =>
        s.values.forEach((v, i) => {
          if (!v) return;
          const r = svgEl('rect', { x: xc(i) - (bw * series.length) / 2 + si * bw, y: y(v), width: bw - 1, height: y0 - y(v), fill: s.color });
          r.append(svgEl('title', {}, `${labels[i]} ${s.name}: ${v}`));
          svg.append(r);
        }),
      );
    } else {
      for (const s of series) {
        const pts = s.values.map((v, i) => (v === null ? null : `${xc(i).toFixed(1)},${y(v).toFixed(1)}`)).filter(Boolean);
        if (pts.length) svg.append(svgEl('polyline', { points: pts.join(' '), fill: 'none', stroke: s.color, 'stroke-width': 2.5, 'stroke-linejoin': 'round' }));
        s.values.forEach((v, i) => {
          if (v !== null) {
            const c = svgEl('circle', { cx: xc(i), cy: y(v), r: 3, fill: s.color });
            c.append(svgEl('title', {}, `${labels[i]} ${s.name}: ${yFormat(v)}`));
            svg.append(c);
          }
        });
      }
    }
    const wrap = el('div', undefined, { class: 'chart-wrap' });
    const legend = el('ul', undefined, { class: 'legend' });
    for (const s of series) {
      const li = el('li');
      li.append(el('span', undefined, { class: 'swatch', style: `background:${s.color}` }), s.name);
      legend.append(li);
    }
    wrap.append(svg, legend);
    return wrap;
  }
  const hhmm = (iso) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

  // ---- queues, agents, live conversations (pushed) ----
  function renderQueues() {
    const queues = dash?.queues ?? [];
    $('queues').replaceChildren(
      ...queues.map((q) => {
        const card = el('section', undefined, { class: 'card queue', 'data-queue': q.queueId, 'aria-label': `Queue ${q.queueId}` });
        card.append(el('h3', `Queue ${q.queueId}`));
        const figures = el('div', undefined, { class: 'figures' });
        const figure = (label, value, name) => {
          const f = el('div', undefined, { class: 'figure', 'data-figure': name });
          f.append(el('b', value), el('span', label, { class: 'muted' }));
          return f;
        };
        const a = q.agentsByState;
        figures.append(
          figure(q.waiting === 1 ? 'customer waiting' : 'customers waiting', q.waiting, 'waiting'),
          figure('longest wait', mmss(q.longestWaitSeconds), 'longest'),
          figure('estimated wait', mmss(q.estimatedWaitSeconds), 'estimated'),
          figure(`service level (${q.serviceLevel.thresholdSeconds} s)`, q.serviceLevel.share === null ? '—' : `${Math.round(q.serviceLevel.share * 100)}%`, 'service-level'),
          figure(a.available === 1 ? 'agent free' : 'agents free', a.available, 'available'),
          figure(a.busy === 1 ? 'agent in conversation' : 'agents in conversation', a.busy, 'busy'),
          figure('away · wrap-up', `${a.away} · ${a['wrap-up']}`, 'others'),
        );
        card.append(figures);
        if (q.waitingSessions.length) {
          const wrap = el('div', undefined, { class: 'table-wrap' });
          const table = el('table');
          const head = el('tr');
          for (const h of ['Customer', 'Channel', 'Waiting', 'Offered to', '']) head.append(el('th', h, { scope: 'col' }));
          table.append(el('thead'), el('tbody'));
          table.tHead.append(head);
          for (const s of q.waitingSessions) {
            const tr = el('tr');
            const b = el('button', 'Why?', { type: 'button', 'aria-label': `Why: ${s.customer}` });
            b.onclick = () => why(s.sessionId).catch((e) => showError(e.message));
            const td = el('td');
            td.append(b);
            tr.append(el('td', s.customer), el('td', s.channel), el('td', mmss(s.waitingSeconds)), el('td', s.offeredToName ?? '—'), td);
            table.tBodies[0].append(tr);
          }
          wrap.append(table);
          card.append(wrap);
        } else card.append(el('p', 'Nobody waiting.', { class: 'muted' }));
        return card;
      }),
    );
    const sel = $('kpi-queue');
    const have = new Set([...sel.options].map((o) => o.value));
    for (const q of queues) if (!have.has(q.queueId)) sel.append(el('option', `Queue ${q.queueId}`, { value: q.queueId }));
    const first = queues.find((q) => q.queueId === ($('kpi-queue').value || queues[0]?.queueId));
    if (first) {
      const h = first.history;
      const short = h.length > 1 && Date.parse(h.at(-1).at) - Date.parse(h[0].at) < 10 * 60_000;
      const label = (iso) => (short ? new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }) : hhmm(iso));
      $('chart-hour').replaceChildren(
        chart({
          kind: 'line',
          label: `Queue ${first.queueId}: waiting customers and free agents over the last 60 minutes`,
          labels: h.map((p) => label(p.at)),
          series: [
            { name: 'waiting customers', color: '#b42318', values: h.map((p) => p.waiting) },
            { name: 'free agents', color: '#1a7f37', values: h.map((p) => p.agentsAvailable) },
          ],
        }),
      );
    }
  }

  function renderAgents() {
    const agents = dash?.agents ?? [];
    $('agents').replaceChildren(
      ...agents.map((a) => {
        const tr = el('tr', undefined, { 'data-agent': a.agentId });
        const state = { available: 'Available', away: 'Away', offline: 'Offline', 'wrap-up': 'Wrap-up' }[a.state] ?? a.state;
        const stateCell = el('td');
        stateCell.append(el('span', `${state}${a.busy ? ' · in conversation' : ''}`, { class: `state-pill`, 'data-state': a.busy ? 'busy' : a.state }));
        if (a.reason) stateCell.append(el('span', ` (${a.reason})`, { class: 'muted' }));
        tr.append(
          el('td', `${a.displayName}${a.kind === 'bot' ? ' (bot)' : ''}`),
          stateCell,
          el('td', `${a.conversations} / ${a.capacity}`, { 'data-col': 'load' }),
          el('td', mmss(since(a.since)), { 'data-since': a.since }),
          el('td', a.wrapUpUntil ? `${Math.max(0, Math.round(-since(a.wrapUpUntil)))} s left` : '—', a.wrapUpUntil ? { 'data-until': a.wrapUpUntil } : {}),
          el('td', a.queues ? a.queues.join(', ') : 'all'),
        );
        return tr;
      }),
    );
  }

  function renderLive() {
    const list = dash?.conversations ?? [];
    $('live-empty').hidden = list.length > 0;
    $('live').replaceChildren(
      ...list.map((c) => {
        const tr = el('tr', undefined, { 'data-live': c.sessionId });
        const b = el('button', 'Open', { type: 'button', 'aria-label': `Open the conversation of ${c.customer}` });
        b.onclick = () => openConversation(c.sessionId).catch((e) => showError(e.message));
        const td = el('td');
        td.append(b);
        tr.append(
          el('td', c.customer),
          el('td', c.takenOverBy ? `${c.agentName} → ${c.takenOverBy}` : c.agentName),
          el('td', c.queueId),
          el('td', c.assignedAt ? `${mmss(since(c.assignedAt))} ago` : '—', c.assignedAt ? { 'data-since': c.assignedAt, 'data-ago': '1' } : {}),
          el('td', c.messages),
          td,
        );
        return tr;
      }),
    );
  }

  function render() {
    $('login').hidden = !!token;
    $('work').hidden = !token;
    $('signout').hidden = !token;
    if (!token) return;
    renderQueues();
    renderAgents();
    renderLive();
  }

  // ---- a conversation, read-only, with whisper and take-over ----
  async function openConversation(sessionId) {
    const c = await get(`supervisor/conversations/${sessionId}`);
    viewing = c;
    $('viewer').hidden = false;
    $('viewer-title').textContent = `${c.customer.alias} with ${c.agentName ?? 'nobody yet'}`;
    $('viewer-facts').textContent =
      `Queue ${c.queueId ?? '—'} · ${c.customer.channel} · ${c.customer.client ? `${c.customer.client.name} ${c.customer.client.version}` : 'unknown client'} · ${c.customer.locale ?? 'language unknown'} · ${c.status}${c.takenOverBy ? ` · taken over by ${c.takenOverBy}` : ''}`;
    $('viewer-log').replaceChildren(
      ...c.items.map((i) => {
        const li = el('li', undefined, { class: `item ${i.kind}` });
        const who =
          i.kind === 'customer'
            ? c.customer.alias
            : i.kind === 'note'
              ? `Note by ${i.name}`
              : i.kind === 'whisper'
                ? `Whisper from ${i.name}`
                : i.kind === 'supervisor'
                  ? `${i.name} (supervisor)`
                  : i.name;
        if (i.kind === 'system') li.append(el('span', i.body, { class: 'system' }));
        else li.append(el('span', who, { class: 'who' }), document.createTextNode(i.body));
        li.append(el('time', hhmm(i.at), { class: 'time', datetime: i.at }));
        return li;
      }),
    );
    $('viewer-logbox').scrollTop = $('viewer-logbox').scrollHeight;
    const live = c.status === 'assigned';
    $('whisper-form').hidden = !live || !me?.permissions.includes('whisper');
    $('takeover').hidden = !live || !me?.permissions.includes('take-over') || !!c.takenOverBy;
    $('sup-say').hidden = !live || c.takenOverBy !== me?.displayName;
  }
  $('viewer-close').onclick = () => {
    viewing = null;
    $('viewer').hidden = true;
  };
  $('whisper-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = $('whisper-input').value.trim();
    if (!body || !viewing) return;
    try {
      await post(`supervisor/sessions/${viewing.sessionId}/whisper`, { whisperId: crypto.randomUUID(), body });
      $('whisper-input').value = '';
      await openConversation(viewing.sessionId);
    } catch (err) {
      showError(`Whisper not sent: ${err.message}`);
    }
  });
  $('takeover').addEventListener('click', async () => {
    try {
      await post(`supervisor/sessions/${viewing.sessionId}/takeover`);
      await openConversation(viewing.sessionId);
      $('sup-say-input').focus();
    } catch (err) {
      showError(`Could not take over: ${err.message}`);
    }
  });
  $('sup-say').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = $('sup-say-input').value.trim();
    if (!body || !viewing) return;
    try {
      await post(`supervisor/sessions/${viewing.sessionId}/messages`, { messageId: crypto.randomUUID(), body });
      $('sup-say-input').value = '';
      await openConversation(viewing.sessionId);
    } catch (err) {
      showError(`Not sent: ${err.message}`);
    }
  });

  // ---- history: KPIs per queue and interval ----
  let kpiRequest = 0;
  async function loadKpis() {
    const mine = ++kpiRequest;
    const [minutes, bucket] = $('kpi-range').value.split(':').map(Number);
    const to = new Date(Math.ceil(Date.now() / (bucket * 60_000)) * bucket * 60_000);
    const from = new Date(to.getTime() - minutes * 60_000);
    const q = $('kpi-queue').value;
    const r = await get(
      `supervisor/kpis?from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}&bucketMinutes=${bucket}${q ? `&queue=${encodeURIComponent(q)}` : ''}`,
    );
    if (mine !== kpiRequest) return; // a later request's answer is (or will be) shown
    const t = r.total;
    const fig = (label, value, name) => {
      const f = el('div', undefined, { class: 'figure', 'data-kpi': name });
      f.append(el('b', value), el('span', label, { class: 'muted' }));
      return f;
    };
    $('kpi-totals').replaceChildren(
      fig('offered', t.offered, 'offered'),
      fig('answered', t.answered, 'answered'),
      fig('abandoned', t.abandoned, 'abandoned'),
      fig('ASA (average speed of answer)', t.asaSeconds === null ? '—' : mmss(t.asaSeconds), 'asa'),
      fig('AHT (average handle time)', t.ahtSeconds === null ? '—' : mmss(t.ahtSeconds), 'aht'),
      fig(`service level (${r.thresholdSeconds} s)`, t.serviceLevel === null ? '—' : `${Math.round(t.serviceLevel * 100)}%`, 'sl'),
    );
    const labels = r.buckets.map((b) => (bucket >= 1440 ? new Date(b.from).toLocaleDateString() : hhmm(b.from)));
    $('chart-volume').replaceChildren(
      chart({
        kind: 'bar',
        label: 'Offered, answered and abandoned per interval',
        labels,
        series: [
          { name: 'offered', color: '#0b5cd5', values: r.buckets.map((b) => b.offered) },
          { name: 'answered', color: '#1a7f37', values: r.buckets.map((b) => b.answered) },
          { name: 'abandoned', color: '#b42318', values: r.buckets.map((b) => b.abandoned) },
        ],
      }),
    );
    $('chart-times').replaceChildren(
      chart({
        kind: 'line',
        label: 'Average speed of answer and average handle time per interval, in seconds',
        labels,
        series: [
          { name: 'ASA (s)', color: '#8250df', values: r.buckets.map((b) => b.asaSeconds) },
          { name: 'AHT (s)', color: '#9a6700', values: r.buckets.map((b) => b.ahtSeconds) },
        ],
      }),
    );
    $('chart-sl').replaceChildren(
      chart({
        kind: 'line',
        label: 'Service level per interval, in percent',
        labels,
        yMax: 100,
        yFormat: (v) => `${v}%`,
        series: [{ name: 'service level', color: '#1a7f37', values: r.buckets.map((b) => (b.serviceLevel === null ? null : Math.round(b.serviceLevel * 100))) }],
      }),
    );
  }
  $('kpi-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    loadKpis().catch((e) => showError(e.message));
  });

  // ---- session search and "why" ----
  $('search-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const params = new URLSearchParams();
    for (const k of ['customer', 'agent', 'queue']) if ($(`q-${k}`).value.trim()) params.set(k, $(`q-${k}`).value.trim());
    for (const k of ['from', 'to']) if ($(`q-${k}`).value) params.set(k, new Date($(`q-${k}`).value).toISOString());
    try {
      const r = await get(`supervisor/search?${params}`);
      $('results').replaceChildren(
        ...(r.sessions.length
          ? r.sessions.map((s) => {
              const tr = el('tr', undefined, { 'data-result': s.sessionId });
              const b = el('button', 'Why?', { type: 'button', 'aria-label': `Timeline and why: ${s.customer}` });
              b.onclick = () => why(s.sessionId).catch((e) => showError(e.message));
              const td = el('td');
              td.append(b);
              tr.append(
                el('td', new Date(s.openedAt).toLocaleString()),
                el('td', s.customer),
                el('td', s.queueId ?? '—'),
                el('td', s.agents.join(', ') || '—'),
                el('td', s.disposition ?? s.status),
                el('td', s.rating ? `${s.rating}/5` : '—'),
                td,
              );
              return tr;
            })
          : [
              (() => {
                const tr = el('tr');
                tr.append(el('td', 'No session matches.', { colspan: '7', class: 'muted' }));
                return tr;
              })(),
            ]),
      );
    } catch (err) {
      showError(`Search failed: ${err.message}`);
    }
  });

  async function why(sessionId) {
    const r = await get(`supervisor/sessions/${encodeURIComponent(sessionId)}`);
    $('why').hidden = false;
    $('why-title').textContent = `Session ${sessionId}`;
    $('why-offers').replaceChildren(
      ...r.offers.map((o) => {
        const tr = el('tr');
        tr.append(el('td', o.agentId), el('td', o.outcome), el('td', o.decision?.rule ?? '—'), el('td', o.decision?.eligible.join(', ') ?? '—'), el('td', o.decision?.tieBreak ?? '—'));
        return tr;
      }),
    );
    $('why-timeline').replaceChildren(...r.timeline.map((t) => el('li', `${new Date(t.at).toLocaleTimeString()} — ${t.summary}`)));
    $('why').scrollIntoView({ block: 'nearest' });
  }
  $('lookup').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const id = $('session').value.trim();
    if (id)
      why(id).catch((e) => {
        $('why').hidden = false;
        $('why-title').textContent = `Session ${id}: ${e.message}`;
        $('why-offers').replaceChildren();
        $('why-timeline').replaceChildren();
      });
  });

  // ---- the push channel ----
  function connect() {
    socket = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/ws?token=${encodeURIComponent(token)}`);
    socket.onopen = () => {
      retry = 0;
      $('updated').textContent = 'live';
    };
    socket.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      if (m.type === 'dashboard') {
        dash = m;
        // The history follows too, at most every ten seconds.
        if (Date.now() - (connect.kpisAt ?? 0) > 10_000) {
          connect.kpisAt = Date.now();
          loadKpis().catch(() => undefined);
        }
        $('updated').textContent = `live · updated ${new Date().toLocaleTimeString()}`;
        render();
      }
      if (m.type === 'conversation-changed' && viewing?.sessionId === m.sessionId) openConversation(m.sessionId).catch(() => undefined);
    };
    socket.onclose = () => {
      if (!token) return;
      $('updated').textContent = 'reconnecting…';
      setTimeout(() => token && connect(), Math.min(10000, 300 * 2 ** retry++));
    };
  }

  async function start() {
    try {
      const d = await get('supervisor/dashboard');
      me = d.me;
      dash = d;
      render();
      connect();
      await loadKpis();
    } catch (err) {
      showError(err.message);
    }
  }

  function signOut() {
    localStorage.removeItem(KEY);
    token = null;
    socket?.close();
    render();
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
    start();
  });
  // Times in state and waits tick between pushes.
  setInterval(() => {
    for (const td of document.querySelectorAll('[data-since]')) td.textContent = `${mmss(since(td.dataset.since))}${td.dataset.ago ? ' ago' : ''}`;
    for (const td of document.querySelectorAll('[data-until]')) td.textContent = `${Math.max(0, Math.round(-since(td.dataset.until)))} s left`;
  }, 1000);
  render();
  if (token) start();
})();
