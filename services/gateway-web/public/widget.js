// The Parley chat widget: <script src="https://parley.example/widget.js" data-address="support@acme.example"></script>
// Everything the customer or an agent writes is rendered as text, never as HTML.
(() => {
  const script = document.currentScript;
  const base = new URL(script.src).origin;
  const address = script.dataset.address;
  const storeKey = `parley-widget:${address}`;
  const load = () => { try { return JSON.parse(localStorage.getItem(storeKey)) ?? null; } catch { return null; } };
  let state = load();
  const save = () => localStorage.setItem(storeKey, JSON.stringify(state));

  const style = document.createElement('style');
  style.textContent = `.parley-widget [hidden]{display:none!important}
.parley-widget{position:fixed;right:1rem;bottom:1rem;width:22rem;background:#fff;border:1px solid #d9dde5;border-radius:10px;box-shadow:0 4px 18px rgba(0,0,0,.12);font:14px system-ui,sans-serif;color:#1d2330;z-index:2147483000}
.parley-widget header{padding:.6rem .8rem;border-bottom:1px solid #d9dde5;display:flex;justify-content:space-between;align-items:center}
.parley-widget h2{font-size:1rem;margin:0}.parley-widget .pw-body{padding:.6rem .8rem}
.parley-widget ol{list-style:none;margin:0;padding:0;height:16rem;overflow-y:auto}
.parley-widget li{margin:.3rem 0;white-space:pre-wrap;overflow-wrap:anywhere}.parley-widget .pw-me{text-align:right}
.parley-widget .pw-sys{color:#5b6475;font-style:italic}.parley-widget .pw-who{font-weight:600;margin-right:.3rem}
.parley-widget .pw-queue{background:#f1f8ff;border:1px solid #c8e1ff;border-radius:6px;padding:.4rem .6rem;margin:.4rem 0}
.parley-widget form{display:flex;gap:.4rem;margin-top:.4rem}.parley-widget input{flex:1;padding:.4rem;border:1px solid #d9dde5;border-radius:6px;font:inherit}
.parley-widget button{padding:.4rem .7rem;border:1px solid #1f6feb;border-radius:6px;background:#1f6feb;color:#fff;font:inherit;cursor:pointer}
.parley-widget button.pw-plain{background:#fff;color:#1d2330;border-color:#d9dde5}
.parley-widget :focus-visible{outline:3px solid #0969da;outline-offset:1px}`;
  document.head.appendChild(style);

  const root = document.createElement('section');
  root.className = 'parley-widget';
  root.setAttribute('aria-label', 'Chat with us');
  root.innerHTML = `<header><h2>Chat with us</h2><button type="button" class="pw-plain" data-pw="leave" hidden>Leave</button></header>
<div class="pw-body">
  <p data-pw="availability" role="status">Checking whether we are available…</p>
  <button type="button" data-pw="start" hidden>Start a chat</button>
  <div class="pw-queue" data-pw="queue" role="status" aria-live="polite" hidden></div>
  <ol data-pw="log" role="log" aria-live="polite" aria-label="Conversation"></ol>
  <p data-pw="typing" class="pw-sys" aria-live="off" hidden>The agent is typing…</p>
  <form data-pw="form" hidden><label class="sr-only" for="pw-input">Your message</label><input id="pw-input" data-pw="input" autocomplete="off" maxlength="16000" placeholder="Write a message"><button type="submit">Send</button></form>
</div>`;
  document.body.appendChild(root);
  const $ = (name) => root.querySelector(`[data-pw="${name}"]`);

  const render = () => {
    const log = $('log');
    log.replaceChildren(...(state?.items ?? []).map((item) => {
      const li = document.createElement('li');
      li.className = item.who === 'you' ? 'pw-me' : item.who === 'system' ? 'pw-sys' : '';
      if (item.who !== 'system') {
        const who = document.createElement('span');
        who.className = 'pw-who';
        who.textContent = item.who === 'you' ? 'You' : item.who;
        li.append(who);
      }
      li.append(document.createTextNode(item.text));
      return li;
    }));
    log.scrollTop = log.scrollHeight;
    const q = $('queue');
    if (state?.queue && !state.ended) {
      q.hidden = false;
      q.textContent = `Your place in the queue: ${state.queue.position + 1} · estimated wait: ${state.queue.estimatedWaitSeconds < 60 ? 'under a minute' : `about ${Math.round(state.queue.estimatedWaitSeconds / 60)} min`}`;
      q.dataset.position = String(state.queue.position);
    } else q.hidden = true;
    $('form').hidden = !state?.token || state.ended;
    $('leave').hidden = !state?.token || state.ended;
    $('start').hidden = !!(state?.token && !state.ended) || $('availability').dataset.status === 'unavailable' || $('availability').dataset.status === 'closed';
  };

  const add = (item) => {
    state.items.push(item);
    save();
    render();
  };

  let socket;
  let retry = 0;
  const connect = () => {
    const url = `${base.replace(/^http/, 'ws')}/ws?token=${encodeURIComponent(state.token)}${state.lastSeq ? `&since=${state.lastSeq}` : ''}`;
    socket = new WebSocket(url);
    socket.onopen = () => { retry = 0; };
    socket.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      if (m.type === 'typing' && m.by === 'agent') {
        $('typing').hidden = false;
        clearTimeout(connect.typingTimer);
        connect.typingTimer = setTimeout(() => { $('typing').hidden = true; }, 3000);
      }
      if (m.type !== 'delivery') return;
      const d = m.delivery;
      state.lastSeq = Math.max(state.lastSeq ?? 0, m.seq);
      if (state.seen.includes(d.deliveryId)) return save();
      state.seen = [...state.seen.slice(-500), d.deliveryId];
      if (d.kind === 'status' && d.status) state.queue = d.status;
      else if (d.kind === 'text') {
        state.queue = null;
        $('typing').hidden = true;
        state.items.push({ who: d.agentName ?? 'Agent', text: d.body });
      } else {
        state.items.push({ who: 'system', text: d.body });
        if (/has ended/.test(d.body)) state.ended = true;
      }
      save();
      render();
    };
    socket.onclose = () => {
      if (state?.ended) return;
      setTimeout(connect, Math.min(10000, 300 * 2 ** retry++));
    };
  };

  const api = async (path, body) => {
    const res = await fetch(`${base}/api/widget/${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(state?.token ? { authorization: `Bearer ${state.token}` } : {}) }, body: JSON.stringify(body ?? {}) });
    const json = await res.json();
    if (!res.ok) throw new Error(json.error?.message ?? `HTTP ${res.status}`);
    return json;
  };

  $('start').addEventListener('click', async () => {
    $('start').disabled = true;
    try {
      const r = await api('sessions', { address, locale: navigator.language });
      if (r.status !== 'available') {
        $('availability').textContent = r.message ?? 'We cannot take your chat right now.';
        return;
      }
      state = { token: r.token, sessionId: r.sessionId, lastSeq: 0, seen: [], items: [], queue: null, ended: false };
      if (r.message) state.items.push({ who: 'system', text: r.message });
      save();
      render();
      connect();
      $('input').focus();
    } catch (err) {
      $('availability').textContent = `Could not start the chat: ${err.message}`;
    } finally {
      $('start').disabled = false;
    }
  });

  $('form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = $('input').value.trim();
    if (!text) return;
    $('input').value = '';
    add({ who: 'you', text });
    try {
      await api('messages', { messageId: crypto.randomUUID(), body: text });
    } catch (err) {
      add({ who: 'system', text: `Not sent: ${err.message}` });
    }
  });

  let lastTyping = 0;
  $('input').addEventListener('input', () => {
    if (Date.now() - lastTyping > 2000 && socket?.readyState === 1) {
      lastTyping = Date.now();
      socket.send(JSON.stringify({ type: 'typing' }));
    }
  });

  $('leave').addEventListener('click', async () => {
    await api('leave').catch(() => undefined);
    state.ended = true;
    add({ who: 'system', text: 'You left the conversation.' });
    socket?.close();
  });

  (async () => {
    try {
      const res = await fetch(`${base}/api/widget/availability?address=${encodeURIComponent(address)}`);
      const a = await res.json();
      const el = $('availability');
      el.dataset.status = a.status ?? 'unavailable';
      el.textContent = a.status === 'open' ? 'We are here to help.' : a.status === 'closed-leave-message' ? `We are closed${a.opensAt ? ` until ${new Date(a.opensAt).toLocaleString()}` : ''}. Leave us a message.` : a.status === 'closed' ? `We are closed${a.opensAt ? ` until ${new Date(a.opensAt).toLocaleString()}` : ''}.` : 'Chat is not available right now.';
    } catch {
      $('availability').textContent = 'Chat is not available right now.';
    }
    render();
    if (state?.token && !state.ended) connect();
  })();
})();
