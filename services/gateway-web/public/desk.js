// The agent desktop. Its state (conversations, what was said) is kept in localStorage with the last delivery
// sequence seen, so a reload resumes exactly where it was and the server replays only what came after.
(() => {
  const KEY = 'parley-desk';
  const $ = (name) => document.querySelector(`[data-d="${name}"]`);
  const load = () => { try { return JSON.parse(localStorage.getItem(KEY)) ?? null; } catch { return null; } };
  let st = load();
  const save = () => localStorage.setItem(KEY, JSON.stringify(st));
  let socket;
  let retry = 0;

  const api = async (path, body) => {
    const res = await fetch(`/api/${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(st?.token ? { authorization: `Bearer ${st.token}` } : {}) }, body: JSON.stringify(body ?? {}) });
    const json = await res.json();
    if (res.status === 401) { signOut(); throw new Error('signed out'); }
    if (!res.ok) throw new Error(json.error?.message ?? `HTTP ${res.status}`);
    return json;
  };
  const text = (tag, content, cls) => { const el = document.createElement(tag); el.textContent = content; if (cls) el.className = cls; return el; };
  const short = (id) => id.slice(0, 6);

  function render() {
    $('login').hidden = !!st;
    $('work').hidden = !st;
    $('state-form').hidden = !st;
    $('signout').hidden = !st;
    if (!st) return;
    $('me').textContent = `${st.agent.displayName} (${st.agent.agentId})`;
    // Only when the state changed: a re-render must not undo what the agent is choosing.
    if ($('state').dataset.shown !== (st.state ?? 'offline')) {
      $('state').value = st.state ?? 'offline';
      $('state').dataset.shown = st.state ?? 'offline';
    }
    // Offers, each with a countdown.
    $('offers').replaceChildren(...Object.values(st.offers).map((o) => {
      const card = document.createElement('article');
      card.className = 'card';
      card.dataset.offer = o.offerId;
      const c = o.customer ?? {};
      card.append(text('h3', `New conversation ${short(o.sessionId)}`));
      card.append(text('p', `Channel ${c.channel ?? '?'} · ${c.client ? `${c.client.name} ${c.client.version}` : 'unknown client'}${c.locale ? ` · ${c.locale}` : ''}`));
      const answers = Object.entries(c.answers ?? {});
      if (answers.length) card.append(text('p', `Answers: ${answers.map(([k, v]) => `${k} = ${v}`).join(', ')}`));
      const left = Math.max(0, Math.round((Date.parse(o.expiresAt) - Date.now()) / 1000));
      card.append(text('p', `Expires in ${left} s`, 'muted countdown'));
      const accept = text('button', 'Accept', 'primary');
      accept.dataset.action = 'accept';
      accept.onclick = () => answer(o, 'accept');
      const reject = text('button', 'Reject');
      reject.onclick = () => answer(o, 'reject');
      const row = document.createElement('div');
      row.className = 'row';
      row.append(accept, reject);
      card.append(row);
      return card;
    }));
    // Conversation tabs with unread counts.
    $('tabs').replaceChildren(...Object.values(st.conversations).map((c) => {
      const b = text('button', `${short(c.sessionId)}${c.ended ? ' (ended)' : ''}`);
      b.setAttribute('role', 'tab');
      b.setAttribute('aria-selected', String(c.sessionId === st.active));
      b.dataset.session = c.sessionId;
      if (c.unread) b.append(' ', text('span', String(c.unread), 'badge'));
      b.onclick = () => { st.active = c.sessionId; c.unread = 0; save(); render(); };
      return b;
    }));
    const c = st.conversations[st.active];
    $('conversation').hidden = !c;
    if (!c) return;
    $('log').replaceChildren(...c.items.map((i) => {
      const li = document.createElement('li');
      if (i.who === 'system') li.append(text('span', i.text, 'system'));
      else li.append(text('span', i.who === 'me' ? 'You' : i.who === 'agent' ? 'Earlier agent' : 'Customer', 'who'), document.createTextNode(i.text));
      return li;
    }));
    $('log').scrollTop = $('log').scrollHeight;
    for (const name of ['say-input', 'transfer', 'end', 'transfer-to', 'disposition']) $(name).disabled = !!c.ended;
    $('say').querySelector('button').disabled = !!c.ended;
  }

  function addItem(sessionId, item) {
    const c = (st.conversations[sessionId] ??= { sessionId, items: [], unread: 0, ended: false });
    c.items.push(item);
    if (st.active !== sessionId) c.unread += 1;
    st.active ??= sessionId;
  }

  function onDelivery(seq, d) {
    st.lastSeq = Math.max(st.lastSeq ?? 0, seq);
    if (st.seen.includes(d.deliveryId)) return;
    st.seen = [...st.seen.slice(-1000), d.deliveryId];
    if (d.kind === 'offer') st.offers[d.offerId] = d;
    if (d.kind === 'offer-revoked') delete st.offers[d.offerId];
    if (d.kind === 'message') addItem(d.sessionId, { who: d.author === 'agent' ? 'agent' : 'customer', text: d.body });
    if (d.kind === 'session-ended') {
      addItem(d.sessionId, { who: 'system', text: d.body === 'transferred' ? 'Transferred.' : 'The customer left; the conversation has ended.' });
      st.conversations[d.sessionId].ended = true;
    }
  }

  async function answer(o, what) {
    try {
      await api(`desk/offers/${o.offerId}/${what}`);
      delete st.offers[o.offerId];
      if (what === 'accept') {
        st.conversations[o.sessionId] ??= { sessionId: o.sessionId, items: [], unread: 0, ended: false };
        st.active = o.sessionId;
      }
    } catch (err) {
      alert(err.message);
      delete st.offers[o.offerId];
    }
    save();
    render();
  }

  function connect() {
    socket = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/ws?token=${encodeURIComponent(st.token)}${st.lastSeq ? `&since=${st.lastSeq}` : ''}`);
    socket.onopen = () => { retry = 0; };
    socket.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      if (m.type === 'typing' && st.conversations[m.sessionId]) {
        if (m.sessionId === st.active) {
          $('typing').hidden = false;
          clearTimeout(connect.t);
          connect.t = setTimeout(() => { $('typing').hidden = true; }, 3000);
        }
        return;
      }
      if (m.type !== 'delivery') return;
      onDelivery(m.seq, m.delivery);
      save();
      render();
    };
    // 4401: the token was signed out (here or in another tab) or expired: sign in again.
    socket.onclose = (ev) => { if (ev.code === 4401) return signOut(); if (st) setTimeout(connect, Math.min(10000, 300 * 2 ** retry++)); };
  }

  function signOut() {
    localStorage.removeItem(KEY);
    st = null;
    socket?.close();
    render();
  }

  $('login').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const r = await fetch('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: $('user').value, password: $('pass').value }) });
      const json = await r.json();
      if (!r.ok || json.role !== 'agent') throw new Error(json.error?.message ?? 'not an agent');
      st = { token: json.token, agent: json.agent, state: 'offline', lastSeq: 0, seen: [], offers: {}, conversations: {}, active: null };
      save();
      render();
      connect();
    } catch (err) {
      $('login-error').textContent = err.message;
    }
  });

  $('state-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const r = await api('desk/state', { state: $('state').value, ...($('state').value === 'away' && $('reason').value ? { reason: $('reason').value } : {}) });
      st.state = r.state;
      save();
      render();
    } catch (err) {
      alert(err.message);
    }
  });

  $('say').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = $('say-input').value.trim();
    if (!body || !st.active) return;
    $('say-input').value = '';
    const sessionId = st.active;
    addItem(sessionId, { who: 'me', text: body });
    save();
    render();
    try {
      await api(`desk/sessions/${sessionId}/messages`, { messageId: crypto.randomUUID(), body });
    } catch (err) {
      addItem(sessionId, { who: 'system', text: `Not sent: ${err.message}` });
      save();
      render();
    }
  });

  let lastTyping = 0;
  $('say-input').addEventListener('input', () => {
    if (Date.now() - lastTyping > 2000 && socket?.readyState === 1 && st.active) {
      lastTyping = Date.now();
      socket.send(JSON.stringify({ type: 'typing', sessionId: st.active }));
    }
  });

  $('transfer').addEventListener('click', async () => {
    const to = $('transfer-to').value.trim();
    if (!to) return;
    const target = to.startsWith('agent:') ? { toAgentId: to.slice(6) } : { toQueueId: to };
    try {
      await api(`desk/sessions/${st.active}/transfer`, target);
      st.conversations[st.active].ended = true;
      addItem(st.active, { who: 'system', text: `Transferred to ${to}.` });
      save();
      render();
    } catch (err) {
      alert(err.message);
    }
  });

  $('end').addEventListener('click', async () => {
    try {
      await api(`desk/sessions/${st.active}/end`, { disposition: $('disposition').value });
      st.conversations[st.active].ended = true;
      addItem(st.active, { who: 'system', text: `Ended (${$('disposition').value}).` });
      const wrap = st.agent.wrapUpSeconds ?? 0;
      if (wrap > 0) st.wrapUpUntil = Date.now() + wrap * 1000;
      save();
      render();
    } catch (err) {
      alert(err.message);
    }
  });

  $('signout').addEventListener('click', async () => {
    await api('desk/state', { state: 'offline' }).catch(() => undefined);
    await api('auth/logout').catch(() => undefined);
    signOut();
  });

  setInterval(() => {
    if (!st) return;
    for (const el of document.querySelectorAll('[data-offer] .countdown')) {
      const o = st.offers[el.closest('[data-offer]').dataset.offer];
      if (o) el.textContent = `Expires in ${Math.max(0, Math.round((Date.parse(o.expiresAt) - Date.now()) / 1000))} s`;
    }
    const left = st.wrapUpUntil ? Math.round((st.wrapUpUntil - Date.now()) / 1000) : 0;
    $('wrapup').textContent = left > 0 ? `Wrap-up: ${left} s` : '';
  }, 1000);

  render();
  if (st) connect();
})();
