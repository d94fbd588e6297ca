// The agent desktop. Conversations and their history come from the server (the events), so the same agent on
// another machine sees everything; the browser keeps only its sign-in, the last delivery sequence (for offers)
// and which tabs it closed and read.
(() => {
  const KEY = 'parley-desk';
  const $ = (name) => document.querySelector(`[data-d="${name}"]`);
  const load = () => {
    try {
      return JSON.parse(localStorage.getItem(KEY)) ?? null;
    } catch {
      return null;
    }
  };
  let st = load();
  const save = () => st && localStorage.setItem(KEY, JSON.stringify({ token: st.token, agent: st.agent, lastSeq: st.lastSeq, closed: st.closed, read: st.read, active: st.active }));
  let socket;
  let retry = 0;
  /** Live data from the server: never stored in the browser. */
  const live = { me: null, offers: {}, conversations: {}, directory: null, canned: [] };
  const baseTitle = document.title;
  /** Offers already announced (a sound and a notification once each, even across reloads of the list). */
  const alerted = new Set();

  const text = (tag, content, cls, attrs = {}) => {
    const e = document.createElement(tag);
    if (content !== undefined) e.textContent = content;
    if (cls) e.className = cls;
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    return e;
  };
  const clock = (iso) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const mmss = (s) => `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, '0')}`;

  let errorTimer;
  function showError(message) {
    const e = $('error');
    e.hidden = false;
    e.textContent = message;
    clearTimeout(errorTimer);
    errorTimer = setTimeout(() => {
      e.hidden = true;
    }, 10000);
  }

  const request = async (method, path, body) => {
    const res = await fetch(`/api/${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(st?.token ? { authorization: `Bearer ${st.token}` } : {}) },
      ...(method === 'POST' ? { body: JSON.stringify(body ?? {}) } : {}),
    });
    const json = await res.json().catch(() => ({}));
    if (res.status === 401) {
      signOut(false);
      throw new Error('Signed out: please sign in again.');
    }
    if (!res.ok) throw new Error(json.error?.message ?? `HTTP ${res.status}`);
    return json;
  };
  const api = (path, body) => request('POST', path, body);
  const get = (path) => request('GET', path);

  // ---- alerts for new offers: a sound, a desktop notification and the tab title ----
  let audio;
  function beep() {
    try {
      audio ??= new (window.AudioContext || window.webkitAudioContext)();
      const o = audio.createOscillator();
      const g = audio.createGain();
      o.frequency.value = 880;
      g.gain.value = 0.08;
      o.connect(g).connect(audio.destination);
      o.start();
      o.stop(audio.currentTime + 0.25);
    } catch {
      /* no audio: the other alerts remain */
    }
  }
  function alertOffer(o) {
    beep();
    if ('Notification' in window && Notification.permission === 'granted') {
      try {
        new Notification('New conversation offered', {
          body: `${o.alias ?? 'A customer'} on ${o.customer?.channel ?? 'chat'} — accept within ${Math.max(0, Math.round((Date.parse(o.expiresAt) - Date.now()) / 1000))} s`,
          tag: o.offerId,
        });
      } catch {
        /* ignored */
      }
    }
  }
  function renderTitle() {
    const offers = Object.keys(live.offers).length;
    const unread = Object.values(live.conversations).reduce((n, c) => n + unreadOf(c), 0);
    document.title = offers ? `(${offers}) New offer — ${baseTitle}` : unread ? `(${unread}) ${baseTitle}` : baseTitle;
  }

  const customerLines = (c) => c.items.filter((i) => i.kind === 'customer' || i.kind === 'whisper').length;
  const unreadOf = (c) => (c.sessionId === st?.active && !document.hidden ? 0 : Math.max(0, customerLines(c) - (st?.read?.[c.sessionId] ?? 0)));
  const visible = () => Object.values(live.conversations).filter((c) => !(st.closed ?? []).includes(c.sessionId));

  function render() {
    $('login').hidden = !!st;
    $('work').hidden = !st;
    $('state-form').hidden = !st;
    $('signout').hidden = !st;
    $('state-now').hidden = !st || !live.me;
    if (!st) {
      document.title = baseTitle;
      return;
    }
    $('me').textContent = `${st.agent.displayName} (${st.agent.agentId})`;
    if (live.me) {
      const label = { available: 'Available', away: `Away${live.me.reason ? ` — ${live.me.reason}` : ''}`, offline: 'Offline', 'wrap-up': 'Wrap-up' }[live.me.state] ?? live.me.state;
      $('state-now').textContent = `You are ${label}`;
      $('state-now').dataset.state = live.me.state;
    }
    renderOffers();
    renderTabs();
    renderConversation();
    renderTitle();
  }

  function renderOffers() {
    $('offers').replaceChildren(
      ...Object.values(live.offers).map((o) => {
        const card = text('article', undefined, 'card offer');
        card.dataset.offer = o.offerId;
        card.setAttribute('aria-label', `Offer: ${o.alias ?? 'customer'}`);
        const c = o.customer ?? {};
        card.append(text('h3', `New conversation: ${o.alias ?? o.sessionId.slice(0, 6)}`));
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
        const row = text('div', undefined, 'row');
        row.append(accept, reject);
        card.append(row);
        return card;
      }),
    );
  }

  function renderTabs() {
    const list = visible();
    $('tabs').replaceChildren(
      ...list.map((c) => {
        const b = text('button', `${c.customer.alias}${c.status === 'ended' ? ' (ended)' : c.held ? '' : ' (handed on)'}`, undefined, {
          role: 'tab',
          id: `tab-${c.sessionId}`,
          'aria-selected': String(c.sessionId === st.active),
          'aria-controls': 'd-conversation',
          tabindex: c.sessionId === st.active ? '0' : '-1',
        });
        b.dataset.session = c.sessionId;
        const n = unreadOf(c);
        if (n) b.append(' ', text('span', String(n), 'badge', { 'aria-label': `${n} unread` }));
        b.onclick = () => activate(c.sessionId);
        b.onkeydown = (ev) => {
          if (ev.key !== 'ArrowRight' && ev.key !== 'ArrowLeft') return;
          const i = list.indexOf(c) + (ev.key === 'ArrowRight' ? 1 : -1);
          const next = list[(i + list.length) % list.length];
          activate(next.sessionId);
          document.getElementById(`tab-${next.sessionId}`)?.focus();
        };
        return b;
      }),
    );
    $('empty').hidden = list.length > 0;
  }

  function activate(sessionId) {
    st.active = sessionId;
    const c = live.conversations[sessionId];
    if (c) (st.read ??= {})[sessionId] = customerLines(c);
    save();
    render();
  }

  function closeTab(sessionId) {
    st.closed = [...(st.closed ?? []), sessionId].slice(-200);
    if (st.active === sessionId) st.active = visible()[0]?.sessionId ?? null;
    save();
    render();
  }

  function renderConversation() {
    const c = live.conversations[st.active];
    const shown = c && !(st.closed ?? []).includes(c.sessionId);
    $('conversation').hidden = !shown;
    $('conversation').id = 'd-conversation';
    $('panel').hidden = !shown;
    if (!shown) return;
    $('conversation').setAttribute('aria-labelledby', `tab-${c.sessionId}`);
    if (!document.hidden) (st.read ??= {})[c.sessionId] = customerLines(c);
    $('conv-title').textContent = `${c.customer.alias}${c.status === 'ended' ? ' — ended' : c.held ? '' : ' — handed on'}`;
    $('close-tab').hidden = c.held;
    $('close-tab').setAttribute('aria-label', `Close ${c.customer.alias}`);
    $('takeover').hidden = !c.takenOverBy;
    $('takeover').textContent = c.takenOverBy ? `${c.takenOverBy} took this conversation over; you can read along.` : '';
    const items = [...c.items, ...(pending[c.sessionId] ?? [])];
    $('log').replaceChildren(
      ...items.map((i) => {
        const li = text('li', undefined, `item ${i.kind}${i.pending ? ' pending' : ''}`);
        const who =
          i.kind === 'customer'
            ? c.customer.alias
            : i.kind === 'agent'
              ? i.agentId === st.agent.agentId
                ? 'You'
                : i.name
              : i.kind === 'note'
                ? `Note by ${i.agentId === st.agent.agentId ? 'you' : i.name}`
                : i.kind === 'whisper'
                  ? `Whisper from ${i.name}`
                  : i.kind === 'supervisor'
                    ? `${i.name} (supervisor)`
                    : '';
        if (i.kind === 'system') li.append(text('span', i.body, 'system'));
        else li.append(text('span', who, 'who'), document.createTextNode(i.body));
        if (i.at) li.append(text('time', clock(i.at), 'time', { datetime: i.at }));
        return li;
      }),
    );
    $('logbox').scrollTop = $('logbox').scrollHeight;
    const canWrite = c.mine;
    for (const name of ['say-input', 'transfer', 'transfer-to', 'note-input']) $(name).disabled = !canWrite;
    for (const name of ['end', 'disposition']) $(name).disabled = !c.held;
    $('say').querySelector('button').disabled = !canWrite;
    $('note-form').querySelector('button').disabled = !canWrite;
    renderPanel(c);
    renderTransferOptions();
    // Another conversation: nothing chosen for the last one carries over.
    if (renderConversation.shown !== c.sessionId) {
      renderConversation.shown = c.sessionId;
      $('transfer-to').value = '';
      $('note-input').value = '';
    }
  }

  function fact(dl, term, value) {
    dl.append(text('dt', term), text('dd', value ?? '—'));
  }

  function renderPanel(c) {
    const p = c.customer;
    $('panel-title').textContent = p.alias;
    const facts = $('panel-facts');
    facts.replaceChildren();
    if (p.name) fact(facts, 'Name', p.name);
    if (p.email) fact(facts, 'E-mail', p.email);
    fact(facts, 'Channel', p.channel);
    fact(facts, 'Client', p.client ? `${p.client.name} ${p.client.version}` : 'unknown');
    fact(facts, 'Language', p.locale ?? 'unknown');
    fact(facts, 'Queue', c.queueId);
    fact(facts, 'Waited before answer', c.waitSeconds === null ? '—' : mmss(c.waitSeconds));
    fact(facts, 'Customer ID', p.customerId ?? 'not known');
    if (c.rating) fact(facts, 'Rating', `${c.rating.score} of 5${c.rating.comment ? ` — “${c.rating.comment}”` : ''}`);
    const answers = $('panel-answers');
    answers.replaceChildren();
    const entries = Object.entries(p.answers ?? {});
    if (!entries.length) answers.append(text('dd', 'none'));
    for (const [k, v] of entries) fact(answers, k, v);
    $('panel-earlier').replaceChildren(
      ...(c.earlier.length
        ? c.earlier.map((e) =>
            text(
              'li',
              `${new Date(e.openedAt).toLocaleString()} · ${e.queueId ?? '—'} · ${e.agents.join(', ') || 'no agent'} · ${e.disposition ?? e.status}${e.rating ? ` · rated ${e.rating}/5` : ''} · ${e.messages} messages`,
            ),
          )
        : [text('li', 'None: this is the first session of this customer.', 'muted')]),
    );
  }

  function renderTransferOptions() {
    const sel = $('transfer-to');
    const d = live.directory;
    if (!d || sel.dataset.version === JSON.stringify(d)) return;
    sel.dataset.version = JSON.stringify(d);
    const keep = sel.value;
    const queues = text('optgroup', undefined, undefined, { label: 'Queues' });
    for (const q of d.queues) queues.append(text('option', `Queue ${q}`, undefined, { value: `queue:${q}` }));
    const people = text('optgroup', undefined, undefined, { label: 'Colleagues' });
    for (const a of d.colleagues) {
      const o = text('option', `${a.displayName} — ${a.available ? `available (${a.conversations}/${a.capacity})` : a.state}`, undefined, { value: `agent:${a.agentId}` });
      if (!a.available) o.disabled = true;
      people.append(o);
    }
    sel.replaceChildren(text('option', 'Choose…', undefined, { value: '' }), queues, people);
    sel.value = keep;
  }

  // ---- loading from the server ----
  async function loadMe() {
    const me = await get('desk/me');
    live.me = me;
    live.offers = Object.fromEntries(me.offers.map((o) => [o.offerId, { ...live.offers[o.offerId], ...o }]));
    for (const o of Object.values(live.offers))
      if (!o.alerted && !alerted.has(o.offerId)) {
        o.alerted = true;
        alerted.add(o.offerId);
        alertOffer(o);
      }
    // Only when the state changed and the agent is not choosing another one: a refresh must not undo their choice.
    if ($('state').dataset.shown !== me.state && !$('state').dataset.dirty) {
      $('state').value = me.state === 'wrap-up' ? 'available' : me.state;
      $('state').dataset.shown = me.state;
    }
    st.wrapUpUntil = me.wrapUpUntil ? Date.parse(me.wrapUpUntil) : null;
  }
  async function loadConversations() {
    const r = await get('desk/conversations');
    live.conversations = Object.fromEntries(r.conversations.map((c) => [c.sessionId, c]));
    if (!st.active || !live.conversations[st.active]) st.active = visible().at(-1)?.sessionId ?? null;
  }
  async function loadConversation(sessionId) {
    const c = await get(`desk/conversations/${sessionId}`);
    if (!c.agentId && c.status !== 'ended' && !live.conversations[sessionId]) return;
    const isNew = !live.conversations[sessionId];
    live.conversations[sessionId] = c;
    delete pending[sessionId];
    if (isNew && c.mine) {
      st.closed = (st.closed ?? []).filter((x) => x !== sessionId);
      st.active = sessionId;
    }
  }
  async function loadDirectory() {
    live.directory = await get('desk/directory');
  }
  async function loadCanned() {
    live.canned = (await get('desk/canned')).responses;
    renderCannedManager();
  }
  async function refreshAll() {
    try {
      await Promise.all([loadMe(), loadConversations(), loadDirectory(), loadCanned()]);
    } catch (err) {
      showError(err.message);
    }
    save();
    render();
  }

  async function answer(o, what) {
    try {
      await api(`desk/offers/${o.offerId}/${what}`);
      delete live.offers[o.offerId];
      if (what === 'accept') {
        await loadConversation(o.sessionId);
        st.active = o.sessionId;
      }
    } catch (err) {
      delete live.offers[o.offerId];
      showError(`Could not ${what} the offer: ${err.message}`);
    }
    save();
    render();
  }

  function onDelivery(seq, d) {
    st.lastSeq = Math.max(st.lastSeq ?? 0, seq);
    if (d.kind === 'offer' && Date.parse(d.expiresAt) > Date.now() && !live.offers[d.offerId]) {
      // Shown at once; the alert waits for the server's details (the customer's name) a moment later.
      live.offers[d.offerId] = { ...d };
      void loadMe().then(render, () => {
        alertOffer(d);
        alerted.add(d.offerId);
      });
    }
    if (d.kind === 'offer-revoked') delete live.offers[d.offerId];
  }

  function connect() {
    socket = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/ws?token=${encodeURIComponent(st.token)}${st.lastSeq ? `&since=${st.lastSeq}` : ''}`);
    socket.onopen = () => {
      retry = 0;
    };
    socket.onmessage = async (ev) => {
      const m = JSON.parse(ev.data);
      if (!st) return;
      if (m.type === 'typing') {
        if (m.sessionId === st.active) {
          $('typing').hidden = false;
          clearTimeout(connect.t);
          connect.t = setTimeout(() => {
            $('typing').hidden = true;
          }, 3000);
        }
        return;
      }
      try {
        if (m.type === 'delivery') onDelivery(m.seq, m.delivery);
        if (m.type === 'conversation-changed') {
          if (m.event === 'SessionOffered' || m.event === 'SessionOfferDeclined') await loadMe();
          else await loadConversation(m.sessionId);
          if (m.event === 'SessionTransferred' || m.event === 'SessionEnded' || m.event === 'SessionAssigned') await Promise.all([loadMe(), loadDirectory()]);
        }
        if (m.type === 'agent-changed') await Promise.all([loadMe(), loadDirectory()]);
        if (m.type === 'ready') await refreshAll();
      } catch (err) {
        showError(err.message);
      }
      save();
      render();
    };
    // 4401: the token was signed out (here or in another tab) or expired: sign in again.
    socket.onclose = (ev) => {
      if (ev.code === 4401) return signOut();
      if (st) setTimeout(() => st && connect(), Math.min(10000, 300 * 2 ** retry++));
    };
  }

  function signOut(local = true) {
    if (local) localStorage.removeItem(KEY);
    else localStorage.removeItem(KEY);
    st = null;
    live.me = null;
    live.offers = {};
    live.conversations = {};
    socket?.close();
    render();
  }

  $('login').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const r = await fetch('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: $('user').value, password: $('pass').value }) });
      const json = await r.json();
      if (!r.ok || json.role !== 'agent') throw new Error(json.error?.message ?? 'not an agent');
      $('login-error').textContent = '';
      st = { token: json.token, agent: json.agent, lastSeq: 0, closed: [], read: {}, active: null };
      if ('Notification' in window && Notification.permission === 'default') Notification.requestPermission().catch(() => undefined);
      save();
      render();
      connect();
    } catch (err) {
      $('login-error').textContent = err.message;
    }
  });

  $('state').addEventListener('change', () => {
    $('state').dataset.dirty = '1';
  });
  $('state-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    delete $('state').dataset.dirty;
    $('state').dataset.shown = '';
    try {
      await api('desk/state', { state: $('state').value, ...($('state').value === 'away' && $('reason').value ? { reason: $('reason').value } : {}) });
      await loadMe();
      render();
    } catch (err) {
      showError(`Could not change state: ${err.message}`);
    }
  });

  // ---- replying, canned responses, notes ----
  const pending = {};
  let activeSuggestion = 0;
  function suggestions() {
    const v = $('say-input').value;
    if (!v.startsWith('/')) return [];
    const q = v.slice(1).toLowerCase();
    return live.canned.filter((r) => r.shortcut.startsWith(q) || r.title.toLowerCase().includes(q)).slice(0, 8);
  }
  function renderSuggestions() {
    const list = suggestions();
    const ul = $('canned-list');
    ul.hidden = list.length === 0;
    $('say-input').setAttribute('aria-expanded', String(list.length > 0));
    activeSuggestion = Math.min(activeSuggestion, Math.max(0, list.length - 1));
    ul.replaceChildren(
      ...list.map((r, i) => {
        const li = text('li', undefined, i === activeSuggestion ? 'active' : '', { role: 'option', id: `canned-${i}`, 'aria-selected': String(i === activeSuggestion) });
        li.append(text('b', `/${r.shortcut}`), ` ${r.title} `, text('span', r.owner, 'muted'));
        li.onmousedown = (ev) => {
          ev.preventDefault();
          useCanned(r);
        };
        return li;
      }),
    );
    if (list.length) $('say-input').setAttribute('aria-activedescendant', `canned-${activeSuggestion}`);
    else $('say-input').removeAttribute('aria-activedescendant');
  }
  function useCanned(r) {
    $('say-input').value = r.body;
    renderSuggestions();
    $('say-input').focus();
  }
  $('say-input').addEventListener('keydown', (ev) => {
    const list = suggestions();
    if (!list.length) return;
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      activeSuggestion = (activeSuggestion + (ev.key === 'ArrowDown' ? 1 : -1) + list.length) % list.length;
      renderSuggestions();
    } else if (ev.key === 'Enter' || ev.key === 'Tab') {
      ev.preventDefault();
      useCanned(list[activeSuggestion]);
    } else if (ev.key === 'Escape') {
      $('canned-list').hidden = true;
    }
  });

  $('say').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = $('say-input').value.trim();
    if (!body || !st.active) return;
    $('say-input').value = '';
    renderSuggestions();
    const sessionId = st.active;
    (pending[sessionId] ??= []).push({ kind: 'agent', agentId: st.agent.agentId, body, pending: true, at: new Date().toISOString() });
    render();
    try {
      await api(`desk/sessions/${sessionId}/messages`, { messageId: crypto.randomUUID(), body });
    } catch (err) {
      pending[sessionId] = (pending[sessionId] ?? []).filter((p) => p.body !== body);
      showError(`Not sent: ${err.message}`);
      render();
    }
  });

  $('note-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = $('note-input').value.trim();
    if (!body || !st.active) return;
    try {
      await api(`desk/sessions/${st.active}/notes`, { noteId: crypto.randomUUID(), body });
      $('note-input').value = '';
    } catch (err) {
      showError(`Note not saved: ${err.message}`);
    }
  });

  function renderCannedManager() {
    $('canned-all').replaceChildren(
      ...(live.canned.length
        ? live.canned.map((r) => {
            const li = text('li');
            li.append(text('b', `/${r.shortcut}`), ` ${r.title} — ${r.body} `, text('span', `(${r.owner})`, 'muted'));
            return li;
          })
        : [text('li', 'None yet.', 'muted')]),
    );
  }
  $('canned-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api('desk/canned', { shortcut: $('c-short').value.trim().toLowerCase(), title: $('c-title').value.trim(), body: $('c-body').value.trim() });
      for (const n of ['c-short', 'c-title', 'c-body']) $(n).value = '';
      await loadCanned();
    } catch (err) {
      showError(`Canned response not saved: ${err.message}`);
    }
  });

  $('say-input').addEventListener('input', () => {
    activeSuggestion = 0;
    renderSuggestions();
    if (Date.now() - (connect.lastTyping ?? 0) > 2000 && socket?.readyState === 1 && st.active) {
      connect.lastTyping = Date.now();
      socket.send(JSON.stringify({ type: 'typing', sessionId: st.active }));
    }
  });

  $('transfer-to').addEventListener('focus', () => {
    loadDirectory().then(renderTransferOptions, () => undefined);
  });
  $('transfer').addEventListener('click', async () => {
    const to = $('transfer-to').value;
    if (!to) return showError('Choose a queue or a colleague to transfer to.');
    const target = to.startsWith('agent:') ? { toAgentId: to.slice(6) } : { toQueueId: to.slice(6) };
    try {
      await api(`desk/sessions/${st.active}/transfer`, target);
      await loadConversation(st.active);
      render();
    } catch (err) {
      showError(`Could not transfer: ${err.message}`);
    }
  });

  $('end').addEventListener('click', async () => {
    try {
      await api(`desk/sessions/${st.active}/end`, { disposition: $('disposition').value });
      await Promise.all([loadConversation(st.active), loadMe()]);
      render();
    } catch (err) {
      showError(`Could not end: ${err.message}`);
    }
  });

  $('signout').addEventListener('click', async () => {
    // Signing out ends the agent's availability at once: no more offers to a desk nobody watches.
    await api('desk/state', { state: 'offline' }).catch(() => undefined);
    await api('auth/logout').catch(() => undefined);
    signOut();
  });

  $('close-tab').addEventListener('click', () => st.active && closeTab(st.active));
  document.addEventListener('visibilitychange', () => {
    if (st && !document.hidden) render();
  });

  setInterval(() => {
    if (!st) return;
    for (const el of document.querySelectorAll('[data-offer] .countdown')) {
      const o = live.offers[el.closest('[data-offer]').dataset.offer];
      if (o) el.textContent = `Expires in ${Math.max(0, Math.round((Date.parse(o.expiresAt) - Date.now()) / 1000))} s`;
    }
    for (const o of Object.values(live.offers))
      if (Date.parse(o.expiresAt) < Date.now() - 1000) {
        delete live.offers[o.offerId];
        render();
      }
    const left = st.wrapUpUntil ? Math.round((st.wrapUpUntil - Date.now()) / 1000) : 0;
    $('wrapup').textContent = left > 0 ? `Wrap-up: ${left} s` : '';
  }, 1000);

  render();
  if (st) connect();
})();
