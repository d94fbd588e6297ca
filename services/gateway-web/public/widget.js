// The Parley chat widget: <script src="https://parley.example/widget.js" data-address="support@acme.example"></script>
// Everything the customer or an agent writes is rendered as text, never as HTML.
(() => {
  const script = document.currentScript;
  const base = new URL(script.src).origin;
  const address = script.dataset.address;
  const storeKey = `parley-widget:${address}`;
  const load = () => {
    try {
      return JSON.parse(localStorage.getItem(storeKey)) ?? null;
    } catch {
      return null;
    }
  };
  let state = load();
  const save = () => localStorage.setItem(storeKey, JSON.stringify(state));
  const ui = (() => {
    try {
      return JSON.parse(localStorage.getItem(`${storeKey}:ui`)) ?? {};
    } catch {
      return {};
    }
  })();
  const saveUi = () => localStorage.setItem(`${storeKey}:ui`, JSON.stringify(ui));
  // A lasting random ID of this browser: the agent sees earlier chats of the same visitor.
  let visitorId = localStorage.getItem('parley-visitor');
  if (!visitorId) {
    visitorId = crypto.randomUUID().replace(/-/g, '');
    localStorage.setItem('parley-visitor', visitorId);
  }

  // The widget's own words, in the customer's language (the intake's words come localized from Parley).
  const WORDS = {
    en: {
      title: 'Chat with us',
      launcher: 'Chat with us',
      minimise: 'Minimise the chat',
      checking: 'Checking whether we are available…',
      open: 'We are here to help.',
      closed: 'We are closed{until}.',
      closedLeave: 'We are closed{until}. Leave us a message.',
      until: ' until {time}',
      unavailable: 'Chat is not available right now.',
      start: 'Start a chat',
      again: 'Start a new chat',
      end: 'End chat',
      send: 'Send',
      placeholder: 'Write a message',
      message: 'Your message',
      you: 'You',
      agent: 'Agent',
      parley: 'Support',
      typing: '{name} is typing…',
      queue: 'You are {ord} in the queue · {wait}',
      under: 'less than a minute',
      range: 'about {a}–{b} minutes',
      joined: '{name} joined the chat',
      tookOver: '{name} took over the conversation',
      left: 'You left the conversation.',
      notSent: 'Not sent: {error}',
      couldNot: 'Could not start the chat: {error}',
      rate: 'How was this chat?',
      stars: '{n} of 5',
      comment: 'Comment (optional)',
      sendRating: 'Send rating',
      rated: 'Thank you for your rating.',
      transcript: 'Download transcript',
      transcriptShort: 'Transcript',
      name: 'Your name',
      email: 'Your e-mail',
      optional: '(optional)',
      unread: '{n} unread',
      log: 'Conversation',
      choose: 'Choose an answer',
      cannot: 'We cannot take your chat right now.',
      required: 'Please fill in: {fields}',
    },
    de: {
      title: 'Chatten Sie mit uns',
      launcher: 'Chatten Sie mit uns',
      minimise: 'Chat minimieren',
      checking: 'Wir prüfen, ob wir erreichbar sind …',
      open: 'Wir helfen Ihnen gern.',
      closed: 'Wir haben geschlossen{until}.',
      closedLeave: 'Wir haben geschlossen{until}. Hinterlassen Sie uns eine Nachricht.',
      until: ' bis {time}',
      unavailable: 'Der Chat ist gerade nicht verfügbar.',
      start: 'Chat starten',
      again: 'Neuen Chat starten',
      end: 'Chat beenden',
      send: 'Senden',
      placeholder: 'Nachricht schreiben',
      message: 'Ihre Nachricht',
      you: 'Sie',
      agent: 'Mitarbeiter',
      parley: 'Support',
      typing: '{name} schreibt …',
      queue: 'Sie sind {ord} in der Warteschlange · {wait}',
      under: 'weniger als eine Minute',
      range: 'etwa {a}–{b} Minuten',
      joined: '{name} ist dem Chat beigetreten',
      tookOver: '{name} hat das Gespräch übernommen',
      left: 'Sie haben das Gespräch verlassen.',
      notSent: 'Nicht gesendet: {error}',
      couldNot: 'Der Chat konnte nicht gestartet werden: {error}',
      rate: 'Wie war dieser Chat?',
      stars: '{n} von 5',
      comment: 'Kommentar (optional)',
      sendRating: 'Bewertung senden',
      rated: 'Danke für Ihre Bewertung.',
      transcript: 'Verlauf herunterladen',
      transcriptShort: 'Verlauf',
      name: 'Ihr Name',
      email: 'Ihre E-Mail-Adresse',
      optional: '(optional)',
      unread: '{n} ungelesen',
      log: 'Gespräch',
      choose: 'Antwort wählen',
      cannot: 'Wir können Ihren Chat gerade nicht annehmen.',
      required: 'Bitte ausfüllen: {fields}',
    },
    fr: {
      title: 'Discutez avec nous',
      launcher: 'Discutez avec nous',
      minimise: 'Réduire la discussion',
      checking: 'Vérification de notre disponibilité…',
      open: 'Nous sommes là pour vous aider.',
      closed: 'Nous sommes fermés{until}.',
      closedLeave: 'Nous sommes fermés{until}. Laissez-nous un message.',
      until: ' jusqu’à {time}',
      unavailable: 'La discussion n’est pas disponible pour le moment.',
      start: 'Démarrer une discussion',
      again: 'Nouvelle discussion',
      end: 'Terminer',
      send: 'Envoyer',
      placeholder: 'Écrire un message',
      message: 'Votre message',
      you: 'Vous',
      agent: 'Conseiller',
      parley: 'Support',
      typing: '{name} écrit…',
      queue: 'Vous êtes {ord} dans la file · {wait}',
      under: 'moins d’une minute',
      range: 'environ {a} à {b} minutes',
      joined: '{name} a rejoint la discussion',
      tookOver: '{name} a repris la discussion',
      left: 'Vous avez quitté la conversation.',
      notSent: 'Non envoyé : {error}',
      couldNot: 'Impossible de démarrer la discussion : {error}',
      rate: 'Comment s’est passée cette discussion ?',
      stars: '{n} sur 5',
      comment: 'Commentaire (facultatif)',
      sendRating: 'Envoyer la note',
      rated: 'Merci pour votre note.',
      transcript: 'Télécharger la transcription',
      transcriptShort: 'Transcription',
      name: 'Votre nom',
      email: 'Votre e-mail',
      optional: '(facultatif)',
      unread: '{n} non lus',
      log: 'Conversation',
      choose: 'Choisissez une réponse',
      cannot: 'Nous ne pouvons pas prendre votre discussion pour le moment.',
      required: 'Veuillez remplir : {fields}',
    },
  };
  const lang = (navigator.language || 'en').toLowerCase().split('-')[0];
  const words = WORDS[lang] ?? WORDS.en;
  const t = (key, vars = {}) => (words[key] ?? WORDS.en[key]).replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));
  const ordinal = (n) => {
    if (lang === 'de') return `${n}.`;
    if (lang === 'fr') return n === 1 ? '1er' : `${n}e`;
    const s = ['th', 'st', 'nd', 'rd'],
      v = n % 100;
    return `${n}${s[(v - 20) % 10] || s[v] || s[0]}`;
  };
  const waitWords = (seconds) => {
    if (seconds < 60) return t('under');
    const a = Math.max(1, Math.floor(seconds / 60));
    return t('range', { a, b: Math.max(a + 1, Math.ceil((seconds * 1.5) / 60)) });
  };
  const clock = (iso) => new Date(iso).toLocaleTimeString(navigator.language, { hour: '2-digit', minute: '2-digit' });

  const style = document.createElement('style');
  style.textContent = `.parley-widget [hidden]{display:none!important}
.parley-widget{font:14px/1.4 system-ui,sans-serif;color:#1d2330}
.parley-widget .pw-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.parley-widget .pw-launcher{position:fixed;right:1rem;bottom:1rem;z-index:2147483000;display:flex;align-items:center;gap:.5rem;padding:.75rem 1.1rem;border:0;border-radius:2rem;background:#0b5cd5;color:#fff;font:600 15px system-ui,sans-serif;box-shadow:0 4px 14px rgba(0,0,0,.25);cursor:pointer}
.parley-widget .pw-launcher svg{width:22px;height:22px;fill:currentColor}
.parley-widget .pw-count{min-width:1.4em;padding:0 .35em;border-radius:1em;background:#b42318;color:#fff;font-size:12px;text-align:center}
.parley-widget .pw-panel{position:fixed;right:1rem;bottom:5rem;z-index:2147483001;width:23rem;max-width:calc(100vw - 2rem);height:34rem;max-height:calc(100vh - 6.5rem);display:flex;flex-direction:column;background:#fff;border:1px solid #d9dde5;border-radius:12px;box-shadow:0 6px 24px rgba(0,0,0,.18);box-sizing:border-box}
.parley-widget header{display:flex;gap:.4rem;align-items:center;padding:.6rem .8rem;border-bottom:1px solid #d9dde5;background:#0b5cd5;color:#fff;border-radius:12px 12px 0 0}
.parley-widget h2{font-size:1rem;margin:0 auto 0 0}
.parley-widget header button{white-space:nowrap;background:transparent;color:#fff;border:1px solid rgba(255,255,255,.7);border-radius:6px;padding:.25rem .5rem;font:inherit;font-size:12px;cursor:pointer}
.parley-widget .pw-body{flex:1;display:flex;flex-direction:column;min-height:0;padding:.6rem .8rem;gap:.4rem}
.parley-widget .pw-status-line{margin:0;color:#3d4555}
.parley-widget .pw-queue{margin:0;background:#eef5ff;border:1px solid #b6d3fb;border-radius:8px;padding:.35rem .6rem;color:#123a75;font-weight:600}
.parley-widget .pw-log{flex:1;overflow-y:auto;min-height:4rem}
.parley-widget ol{list-style:none;margin:0;padding:.2rem;display:flex;flex-direction:column;gap:.35rem}
.parley-widget li{max-width:85%;white-space:pre-wrap;overflow-wrap:anywhere}
.parley-widget .pw-bubble{padding:.4rem .6rem;border-radius:14px;background:#f0f2f5;align-self:flex-start;border-bottom-left-radius:4px}
.parley-widget .pw-me{background:#0b5cd5;color:#fff;align-self:flex-end;border-radius:14px;border-bottom-right-radius:4px}
.parley-widget .pw-sys{align-self:center;max-width:95%;color:#4a5263;font-size:13px;text-align:center;background:none;padding:.1rem .3rem}
.parley-widget .pw-meta{display:block;font-size:11px;opacity:.85;margin-top:.15rem}
.parley-widget .pw-who{font-weight:600;display:block;font-size:12px}
.parley-widget .pw-menu{display:flex;flex-wrap:wrap;gap:.35rem}
.parley-widget .pw-menu button,.parley-widget .pw-plain{background:#fff;color:#0b4fb8;border:1px solid #0b5cd5;border-radius:16px;padding:.35rem .75rem;font:inherit;cursor:pointer}
.parley-widget form{display:flex;gap:.4rem;flex-wrap:wrap;margin:0}
.parley-widget input,.parley-widget textarea{flex:1;min-width:0;padding:.5rem;border:1px solid #8c95a6;border-radius:8px;font:inherit}
.parley-widget .pw-primary{padding:.5rem .8rem;border:1px solid #0b5cd5;border-radius:8px;background:#0b5cd5;color:#fff;font:inherit;cursor:pointer}
.parley-widget .pw-field{display:flex;flex-direction:column;gap:.15rem;width:100%}
.parley-widget fieldset{border:0;padding:0;margin:0;display:flex;gap:.25rem;flex-wrap:wrap}
.parley-widget legend{font-weight:600;margin-bottom:.25rem}
.parley-widget .pw-star{display:inline-flex}
.parley-widget .pw-star input{position:absolute;opacity:0;width:1px;height:1px}
.parley-widget .pw-star span{display:inline-block;padding:.25rem .55rem;border:1px solid #8c95a6;border-radius:6px;cursor:pointer}
.parley-widget .pw-star input:checked+span{background:#0b5cd5;color:#fff;border-color:#0b5cd5}
.parley-widget .pw-star input:focus-visible+span{outline:3px solid #0969da;outline-offset:1px}
.parley-widget .pw-typing{margin:0;color:#4a5263;font-size:12px;font-style:italic}
.parley-widget :focus-visible{outline:3px solid #0969da;outline-offset:1px}
@media (max-width:480px){.parley-widget .pw-panel{left:0;right:0;bottom:0;width:auto;max-width:none;height:100%;max-height:100%;border-radius:0}.parley-widget header{border-radius:0}.parley-widget .pw-launcher{right:.75rem;bottom:.75rem}}`;
  document.head.appendChild(style);

  const root = document.createElement('div');
  root.className = 'parley-widget';
  root.innerHTML = `<button type="button" class="pw-launcher" data-pw="launcher" aria-expanded="false" aria-controls="pw-panel"><svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg><span data-pw="launcher-label"></span><span class="pw-count" data-pw="count" hidden></span></button>
<section class="pw-panel" id="pw-panel" data-pw="panel" role="dialog" aria-modal="false" aria-labelledby="pw-title" hidden>
  <header><h2 id="pw-title" data-pw="title"></h2><button type="button" data-pw="transcript" hidden></button><button type="button" data-pw="leave" hidden></button><button type="button" data-pw="minimise"></button></header>
  <div class="pw-body">
    <p class="pw-status-line" data-pw="availability" role="status"></p>
    <form data-pw="prechat" hidden></form>
    <button type="button" class="pw-primary" data-pw="start" hidden></button>
    <p class="pw-queue" data-pw="queue" role="status" aria-live="polite" hidden></p>
    <div class="pw-log" data-pw="logbox" role="log" aria-live="polite" tabindex="0"><ol data-pw="log"></ol></div>
    <div class="pw-menu" data-pw="menu" role="group" hidden></div>
    <p class="pw-typing" data-pw="typing" aria-live="off" hidden></p>
    <form data-pw="form" hidden><label class="pw-sr" for="pw-input" data-pw="input-label"></label><input id="pw-input" data-pw="input" autocomplete="off" maxlength="16000"><button type="submit" class="pw-primary" data-pw="send"></button></form>
    <form data-pw="rating" hidden></form>
    <button type="button" class="pw-plain" data-pw="again" hidden></button>
  </div>
</section>`;
  document.body.appendChild(root);
  const $ = (name) => root.querySelector(`[data-pw="${name}"]`);
  const el = (tag, text, attrs = {}) => {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    return e;
  };

  // Labels in the customer's language.
  document.getElementById('pw-title').textContent = t('title');
  $('launcher-label').textContent = t('launcher');
  $('minimise').textContent = '—';
  $('minimise').setAttribute('aria-label', t('minimise'));
  $('leave').textContent = t('end');
  $('transcript').textContent = t('transcriptShort');
  $('transcript').setAttribute('aria-label', t('transcript'));
  $('start').textContent = t('start');
  $('again').textContent = t('again');
  $('availability').textContent = t('checking');
  $('logbox').setAttribute('aria-label', t('log'));
  $('menu').setAttribute('aria-label', t('choose'));
  $('input-label').textContent = t('message');
  $('input').placeholder = t('placeholder');
  $('send').textContent = t('send');
  let preChat = null;

  /** The menu of the last intake question, as buttons: "1 Billing, 2 Technical support" on its last line. */
  const menuOf = (text) => {
    const lines = text.split('\n');
    const last = lines.at(-1);
    if (lines.length < 2 || !/^[^\s,]+ [^,]+(, [^\s,]+ [^,]+)*$/.test(last)) return null;
    return last.split(', ').map((part) => ({ key: part.slice(0, part.indexOf(' ')), label: part.slice(part.indexOf(' ') + 1) }));
  };

  const setOpen = (open) => {
    ui.open = open;
    saveUi();
    $('panel').hidden = !open;
    $('launcher').setAttribute('aria-expanded', String(open));
    if (open) {
      ui.unread = 0;
      saveUi();
    }
    renderCount();
  };
  const renderCount = () => {
    const n = ui.unread ?? 0;
    $('count').hidden = !n || ui.open;
    $('count').textContent = String(n);
    $('launcher').setAttribute('aria-label', n && !ui.open ? `${t('launcher')} (${t('unread', { n })})` : t('launcher'));
  };

  const render = () => {
    const log = $('log');
    log.replaceChildren(
      ...(state?.items ?? []).map((item) => {
        const li = el('li');
        if (item.who === 'system') {
          li.className = 'pw-sys';
          li.append(document.createTextNode(item.text));
          return li;
        }
        li.className = item.who === 'you' ? 'pw-bubble pw-me' : 'pw-bubble';
        li.append(el('span', item.who === 'you' ? t('you') : item.who === 'parley' ? t('parley') : item.who, { class: item.who === 'you' ? 'pw-sr' : 'pw-who' }));
        li.append(document.createTextNode(item.text));
        if (item.at) li.append(el('time', clock(item.at), { class: 'pw-meta', datetime: item.at }));
        return li;
      }),
    );
    $('logbox').scrollTop = $('logbox').scrollHeight;
    const q = $('queue');
    if (state?.queue && !state.ended && !state.joined) {
      q.hidden = false;
      const p = state.queue.position;
      q.textContent = t('queue', { ord: ordinal(p + 1), wait: waitWords(state.queue.estimatedWaitSeconds) });
      q.dataset.position = String(p);
    } else q.hidden = true;
    // The last question's menu as buttons, while it is the last thing said.
    const last = state?.items?.at(-1);
    const menu = !state?.ended && !state?.joined && last?.who === 'parley' ? menuOf(last.text) : null;
    $('menu').hidden = !menu;
    $('menu').replaceChildren(
      ...(menu ?? []).map((o) => {
        const b = el('button', `${o.key} · ${o.label}`, { type: 'button' });
        b.onclick = () => say(o.key);
        return b;
      }),
    );
    const active = !!state?.token && !state.ended;
    $('form').hidden = !active;
    $('leave').hidden = !active;
    $('transcript').hidden = !state?.items?.length;
    const status = $('availability').dataset.status;
    const over = !!state?.token && state.ended;
    $('start').hidden = active || over || status === 'unavailable' || status === 'closed' || !status;
    $('prechat').hidden = $('start').hidden || !preChat;
    $('availability').hidden = active || over;
    $('again').hidden = !over;
    renderRating();
  };

  function renderRating() {
    const form = $('rating');
    const show = !!state?.ended && !!state.token && !!state.joinedOnce;
    form.hidden = !show;
    if (!show) return;
    if (state.rated) {
      form.replaceChildren(el('p', t('rated'), { role: 'status' }));
      return;
    }
    if (form.dataset.built) return;
    form.dataset.built = '1';
    const fs = el('fieldset');
    fs.append(el('legend', t('rate')));
    for (let n = 1; n <= 5; n++) {
      const label = el('label', undefined, { class: 'pw-star' });
      const input = el('input', undefined, { type: 'radio', name: 'pw-score', value: String(n), 'aria-label': t('stars', { n }) });
      label.append(input, el('span', `${n}★`, { 'aria-hidden': 'true' }));
      fs.append(label);
    }
    const field = el('div', undefined, { class: 'pw-field' });
    field.append(el('label', t('comment'), { for: 'pw-comment' }), el('textarea', undefined, { id: 'pw-comment', rows: '2', maxlength: '2000' }));
    form.replaceChildren(fs, field, el('button', t('sendRating'), { type: 'submit', class: 'pw-primary' }), el('p', '', { role: 'alert', 'data-pw': 'rating-error', class: 'pw-typing' }));
  }

  const add = (item) => {
    state.items.push({ at: new Date().toISOString(), ...item });
    if (!ui.open && item.who !== 'you') {
      ui.unread = (ui.unread ?? 0) + 1;
      saveUi();
      renderCount();
    }
    save();
    render();
  };

  const joined = (id, name, takeover = false) => {
    if (id && state.seen.includes(`joined:${id}`)) return;
    state.seen.push(`joined:${id}`);
    state.joined = true;
    state.joinedOnce = true;
    state.queue = null;
    state.agentName = name;
    add({ who: 'system', text: t(takeover ? 'tookOver' : 'joined', { name }) });
  };

  let socket;
  let retry = 0;
  const connect = () => {
    const url = `${base.replace(/^http/, 'ws')}/ws?token=${encodeURIComponent(state.token)}${state.lastSeq ? `&since=${state.lastSeq}` : ''}`;
    socket = new WebSocket(url);
    socket.onopen = () => {
      retry = 0;
    };
    socket.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      if (m.type === 'typing' && m.by === 'agent') {
        $('typing').hidden = false;
        $('typing').textContent = t('typing', { name: state.agentName ?? t('agent') });
        clearTimeout(connect.typingTimer);
        connect.typingTimer = setTimeout(() => {
          $('typing').hidden = true;
        }, 3000);
      }
      if (m.type === 'joined') return joined(m.id, m.agentName, !!m.takeover);
      if (m.type === 'session') {
        if (m.agentName && m.status === 'assigned') joined(m.joinedId, m.agentName, !!m.takeover);
        for (const s of m.supervisorMessages ?? [])
          if (!state.seen.includes(s.id)) {
            state.seen.push(s.id);
            add({ who: s.name, text: s.body, at: s.at });
          }
        return;
      }
      if (m.type === 'message') {
        if (state.seen.includes(m.id)) return;
        state.seen.push(m.id);
        return add({ who: m.name, text: m.body, at: m.at });
      }
      if (m.type !== 'delivery') return;
      const d = m.delivery;
      state.lastSeq = Math.max(state.lastSeq ?? 0, m.seq);
      if (state.seen.includes(d.deliveryId)) return save();
      state.seen = [...state.seen.slice(-500), d.deliveryId];
      if (d.kind === 'status' && d.status) {
        if (!state.joined) state.queue = d.status;
        save();
        return render();
      }
      if (d.kind === 'text') {
        state.queue = null;
        $('typing').hidden = true;
        if (d.agentName && !state.joined) joined(`name:${d.agentName}`, d.agentName);
        add({ who: d.agentName ?? t('agent'), text: d.body });
      } else {
        if (/has ended|transferred/.test(d.body)) {
          state.joined = false;
        }
        if (/has ended/.test(d.body)) state.ended = true;
        add({ who: state.joinedOnce || /has ended/.test(d.body) ? 'system' : 'parley', text: d.body });
      }
    };
    socket.onclose = () => {
      if (state?.ended) return;
      setTimeout(connect, Math.min(10000, 300 * 2 ** retry++));
    };
  };

  const api = async (path, body) => {
    const res = await fetch(`${base}/api/widget/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(state?.token ? { authorization: `Bearer ${state.token}` } : {}) },
      body: JSON.stringify(body ?? {}),
    });
    const json = await res.json();
    if (!res.ok) throw new Error(json.error?.message ?? `HTTP ${res.status}`);
    return json;
  };

  async function say(text) {
    add({ who: 'you', text });
    try {
      await api('messages', { messageId: crypto.randomUUID(), body: text });
    } catch (err) {
      add({ who: 'system', text: t('notSent', { error: err.message }) });
    }
  }

  $('launcher').addEventListener('click', () => {
    setOpen(!ui.open);
    if (ui.open) (state?.token && !state.ended ? $('input') : $('start').hidden ? $('minimise') : $('start')).focus();
  });
  $('minimise').addEventListener('click', () => {
    setOpen(false);
    $('launcher').focus();
  });
  root.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && ui.open) {
      setOpen(false);
      $('launcher').focus();
    }
  });

  $('start').addEventListener('click', async () => {
    const details = {};
    if (preChat) {
      const missing = [];
      for (const f of preChat.fields) {
        const v = root.querySelector(`#pw-pre-${f.name}`).value.trim();
        if (v) details[f.name] = v;
        else if (f.required) missing.push(t(f.name));
      }
      if (missing.length) {
        $('availability').textContent = t('required', { fields: missing.join(', ') });
        return;
      }
    }
    $('start').disabled = true;
    try {
      const r = await api('sessions', { address, locale: navigator.language, visitorId, ...details });
      if (r.status !== 'available') {
        $('availability').textContent = r.message ?? t('cannot');
        return;
      }
      state = { token: r.token, sessionId: r.sessionId, lastSeq: 0, seen: [], items: [], queue: null, ended: false };
      if (r.message) state.items.push({ who: 'parley', text: r.message, at: new Date().toISOString() });
      save();
      render();
      connect();
      $('input').focus();
    } catch (err) {
      $('availability').textContent = t('couldNot', { error: err.message });
    } finally {
      $('start').disabled = false;
    }
  });

  $('form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = $('input').value.trim();
    if (!text) return;
    $('input').value = '';
    await say(text);
  });

  $('rating').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const score = Number(root.querySelector('input[name="pw-score"]:checked')?.value ?? 0);
    if (!score) {
      $('rating-error').textContent = t('rate');
      return;
    }
    try {
      state.ratingId ??= crypto.randomUUID();
      await api('rating', { ratingId: state.ratingId, score, ...(root.querySelector('#pw-comment').value.trim() ? { comment: root.querySelector('#pw-comment').value.trim() } : {}) });
      state.rated = true;
      save();
      render();
    } catch (err) {
      $('rating-error').textContent = err.message;
    }
  });

  $('transcript').addEventListener('click', () => {
    const lines = (state?.items ?? []).map(
      (i) =>
        `${i.at ? `[${new Date(i.at).toLocaleString(navigator.language)}] ` : ''}${i.who === 'system' ? '' : `${i.who === 'you' ? t('you') : i.who === 'parley' ? t('parley') : i.who}: `}${i.text}`,
    );
    const blob = new Blob([`${t('title')} — ${address}\n\n${lines.join('\n')}\n`], { type: 'text/plain;charset=utf-8' });
    const a = el('a', undefined, { href: URL.createObjectURL(blob), download: `chat-transcript-${new Date().toISOString().slice(0, 10)}.txt` });
    document.body.append(a);
    a.click();
    setTimeout(() => {
      URL.revokeObjectURL(a.href);
      a.remove();
    }, 1000);
  });

  let lastTyping = 0;
  $('input').addEventListener('input', () => {
    if (Date.now() - lastTyping > 2000 && socket?.readyState === 1) {
      lastTyping = Date.now();
      socket.send(JSON.stringify({ type: 'typing' }));
    }
  });

  $('again').addEventListener('click', () => {
    // The ended chat stays in the transcript download until now; a new chat starts clean.
    state = null;
    localStorage.removeItem(storeKey);
    $('rating').dataset.built = '';
    render();
    $('start').focus();
  });

  $('leave').addEventListener('click', async () => {
    await api('leave').catch(() => undefined);
    state.ended = true;
    state.joined = false;
    add({ who: 'system', text: t('left') });
    socket?.close();
  });

  function buildPreChat() {
    const form = $('prechat');
    form.replaceChildren(
      ...preChat.fields.map((f) => {
        const d = el('div', undefined, { class: 'pw-field' });
        const input = el('input', undefined, {
          id: `pw-pre-${f.name}`,
          type: f.name === 'email' ? 'email' : 'text',
          autocomplete: f.name === 'email' ? 'email' : 'name',
          ...(f.required ? { required: '', 'aria-required': 'true' } : {}),
        });
        d.append(el('label', `${t(f.name)}${f.required ? '' : ` ${t('optional')}`}`, { for: `pw-pre-${f.name}` }), input);
        return d;
      }),
    );
    form.onsubmit = (ev) => {
      ev.preventDefault();
      $('start').click();
    };
  }

  (async () => {
    try {
      const res = await fetch(`${base}/api/widget/availability?address=${encodeURIComponent(address)}`);
      const a = await res.json();
      const av = $('availability');
      av.dataset.status = a.status ?? 'unavailable';
      const until = a.opensAt ? t('until', { time: new Date(a.opensAt).toLocaleString(navigator.language) }) : '';
      av.textContent = a.status === 'open' ? t('open') : a.status === 'closed-leave-message' ? t('closedLeave', { until }) : a.status === 'closed' ? t('closed', { until }) : t('unavailable');
      if (a.preChat?.fields?.length) {
        preChat = a.preChat;
        buildPreChat();
      }
    } catch {
      $('availability').dataset.status = 'unavailable';
      $('availability').textContent = t('unavailable');
    }
    setOpen(!!ui.open);
    render();
    if (state?.token && !state.ended) connect();
  })();
})();
