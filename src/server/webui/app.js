// The page's controller: the conversation list, the composer, generation (stream, stop, regenerate, edit),
// the settings and API-key dialogs.
'use strict';
(function (torchllm) {
  const { store, api, messages } = torchllm;
  const $ = (id) => document.getElementById(id);
  const ui = {
    app: $('app'), list: $('conversations'), messages: $('messages'), input: $('input'), send: $('send'),
    stop: $('stop'), title: $('title'), model: $('model-name'), banner: $('banner'), bannerText: $('banner-text'),
    settings: $('settings'), keyDialog: $('key-dialog'), keyInput: $('key-input'), keyReason: $('key-reason'),
    importFile: $('import-file'), scrim: $('scrim'),
  };
  let conversation = null;  // the one on screen
  let model = '';           // from /v1/models
  let generation = null;    // {controller, conversation} while a reply streams

  function showError(text) {
    ui.bannerText.textContent = text;
    ui.banner.hidden = !text;
  }

  function persist(c) {
    c.updated = Date.now();
    try {
      store.save(c);
    } catch (e) {
      showError(e.message);
    }
  }

  // --- the conversation list -------------------------------------------------------------------------
  function renderList() {
    const items = store.list().map((c) => {
      const li = document.createElement('li');
      li.dataset.id = c.id;
      if (conversation && c.id === conversation.id) li.className = 'current';
      const open = document.createElement('button');
      open.type = 'button';
      open.className = 'open';
      open.dataset.action = 'open';
      open.textContent = c.title || 'New chat';
      open.title = c.title || 'New chat';
      const tools = document.createElement('span');
      tools.className = 'tools';
      for (const [action, label, title] of [['rename', '\u270e', 'Rename'], ['export', '\u2913', 'Export as JSON'], ['delete', '\u2715', 'Delete']]) {
        const b = document.createElement('button');
        b.type = 'button';
        b.dataset.action = action;
        b.textContent = label;
        b.title = title;
        b.setAttribute('aria-label', title + ' \u201c' + (c.title || 'New chat') + '\u201d');
        tools.append(b);
      }
      li.append(open, tools);
      return li;
    });
    ui.list.replaceChildren(...items);
  }

  function render() {
    messages.renderConversation(ui.messages, conversation, busy());
    ui.title.textContent = conversation.title || 'New chat';
    document.title = (conversation.title ? conversation.title + ' \u2013 ' : '') + 'torchllm';
    renderList();
  }

  function scrollToEnd() { ui.messages.scrollTop = ui.messages.scrollHeight; }

  // The conversation object a reply streams into, when `id` is that one.
  function live(id) {
    if (conversation && conversation.id === id) return conversation;
    return generation && generation.conversation.id === id ? generation.conversation : null;
  }

  function openConversation(c) {
    // A reply that was streaming when the page went away is kept as it was, marked stopped.
    if (!(generation && generation.conversation === c)) {
      for (const m of c.messages) {
        if (m.pending) {
          m.pending = false;
          m.stopped = true;
        }
      }
    }
    conversation = c;
    store.setCurrentId(c.id);
    setSidebar(false);
    render();
    scrollToEnd();
  }

  function newConversation() {
    if (conversation && conversation.messages.length === 0 && !busy()) {
      ui.input.focus();
      return;
    }
    const c = store.create();
    // A new chat starts with the settings of the one on screen (system prompt included).
    if (conversation) {
      c.system = conversation.system;
      c.settings = Object.assign({}, conversation.settings);
    }
    openConversation(c);
    ui.input.focus();
  }

  function download(name, text) {
    const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  function onListClick(event) {
    const target = event.target.closest('button[data-action]');
    if (!target) return;
    const id = target.closest('li').dataset.id;
    const c = live(id) || store.load(id);
    if (!c) return;
    const action = target.dataset.action;
    if (action === 'open') {
      openConversation(c);
    } else if (action === 'rename') {
      const title = prompt('Rename the conversation', c.title || '');
      if (title === null || !title.trim()) return;
      c.title = title.trim();
      c.titled = true;
      persist(c);
      if (c === conversation) render(); else renderList();
    } else if (action === 'export') {
      const name = (c.title || 'conversation').replace(/[^\w.-]+/g, '_').slice(0, 60) + '.json';
      download(name, JSON.stringify(store.exportMessages(c), null, 2) + '\n');
    } else if (action === 'delete') {
      if (!confirm('Delete \u201c' + (c.title || 'New chat') + '\u201d?')) return;
      if (generation && generation.conversation.id === id) stopGeneration();
      store.remove(id);
      if (conversation && conversation.id === id) {
        const rest = store.list();
        openConversation(rest[0] || store.create());
      } else {
        renderList();
      }
    }
  }

  async function importFiles(files) {
    for (const file of files) {
      try {
        const c = store.importConversation(await file.text(), file.name);
        persist(c);
        openConversation(c);
      } catch (e) {
        showError('Cannot import ' + file.name + ': ' + e.message);
      }
    }
  }

  // --- generation -------------------------------------------------------------------------------------
  function busy() { return generation !== null; }

  function setBusy(on) {
    ui.send.hidden = on;
    ui.stop.hidden = !on;
  }

  function requestMessages(c, upTo) {
    const out = [];
    if (c.system) out.push({ role: 'system', content: c.system });
    for (const m of c.messages.slice(0, upTo)) {
      if (m.role === 'assistant' && !m.content) continue;  // failed or stopped before the first token
      out.push({ role: m.role, content: m.content });
    }
    return out;
  }

  // Streams a reply to the conversation's last message into a new assistant message.
  async function generate(c) {
    const upTo = c.messages.length;
    const reply = { role: 'assistant', content: '', reasoning: '', pending: true };
    c.messages.push(reply);
    persist(c);
    const controller = new AbortController();
    generation = { controller, conversation: c };
    setBusy(true);
    showError('');
    if (c === conversation) render();
    scrollToEnd();
    const body = Object.assign({ model: model || undefined, messages: requestMessages(c, upTo), stream: true,
                                 stream_options: { include_usage: true } }, store.samplingFields(c.settings));
    const start = performance.now();
    let first = -1;
    let chunks = 0;
    let usage = null;
    let frame = 0;
    let saved = start;
    const repaint = () => {
      frame = 0;
      // What has arrived survives a reload (kept, marked stopped).
      if (performance.now() - saved > 1000) {
        saved = performance.now();
        persist(c);
      }
      if (conversation !== c) return;
      const article = ui.messages.querySelector('article[data-index="' + upTo + '"]');
      if (!article) return;
      const atEnd = ui.messages.scrollHeight - ui.messages.scrollTop - ui.messages.clientHeight < 40;
      messages.updateReply(article, reply);
      if (atEnd) scrollToEnd();
    };
    try {
      for await (const event of api.streamChat(body, controller.signal)) {
        if (event.usage) usage = event.usage;
        const choice = event.choices && event.choices[0];
        const delta = choice && choice.delta;
        if (!delta) continue;
        const text = (delta.content || '') + (delta.reasoning_content || '');
        if (!text) continue;
        if (first < 0) first = performance.now();
        chunks += 1;
        reply.content += delta.content || '';
        reply.reasoning += delta.reasoning_content || '';
        if (!frame) frame = requestAnimationFrame(repaint);
      }
    } catch (e) {
      if (e.name === 'AbortError') {
        reply.stopped = true;
      } else {
        reply.error = e.message;
        if (e.status === 401) askForKey(e.message);
      }
    } finally {
      const end = performance.now();
      const tokens = usage ? usage.completion_tokens : chunks;
      reply.pending = false;
      if (first >= 0) {
        reply.stats = { tokens, ttftMs: first - start, tokensPerSecond: tokens > 1 && end > first ? (tokens - 1) / ((end - first) / 1000) : 0 };
      }
      if (!reply.reasoning) delete reply.reasoning;
      generation = null;
      setBusy(false);
      persist(c);
      if (conversation === c) {
        render();
        scrollToEnd();
      }
    }
  }

  function stopGeneration() {
    if (generation) generation.controller.abort();
  }

  function send() {
    const text = ui.input.value;
    if (!text.trim() || busy()) return;
    const c = conversation;
    c.messages.push({ role: 'user', content: text });
    if (!c.titled && c.messages.filter((m) => m.role === 'user').length === 1) c.title = store.titleFrom(text);
    ui.input.value = '';
    fitInput();
    generate(c);
  }

  function regenerate() {
    const c = conversation;
    if (busy() || !c.messages.length) return;
    if (c.messages[c.messages.length - 1].role === 'assistant') c.messages.pop();
    generate(c);
  }

  function editAndRegenerate(index, text) {
    const c = conversation;
    if (busy()) return;
    c.messages.splice(index);
    c.messages.push({ role: 'user', content: text });
    if (!c.titled && index === c.messages.findIndex((m) => m.role === 'user')) c.title = store.titleFrom(text);
    generate(c);
  }

  function onMessagesClick(event) {
    const target = event.target.closest('button[data-action]');
    if (!target) return;
    const article = target.closest('article');
    const index = Number(article.dataset.index);
    const m = conversation.messages[index];
    const action = target.dataset.action;
    if (action === 'regenerate') regenerate();
    else if (action === 'edit') messages.startEdit(article, m.content, (text) => editAndRegenerate(index, text));
    else if (action === 'copy-reply') {
      torchllm.copyText(m.content).then(() => { target.textContent = 'Copied'; }, () => { target.textContent = 'Copy failed'; });
      setTimeout(() => { target.textContent = 'Copy'; }, 1500);
    }
  }

  // --- settings, API key, model -----------------------------------------------------------------------
  function openSettings() {
    $('set-system').value = conversation.system || '';
    for (const key of store.kSettings) {
      const value = conversation.settings[key];
      $('set-' + key).value = value === undefined || value === null ? '' : value;
    }
    $('settings-model').textContent = model || 'unknown';
    ui.settings.showModal();
  }

  function saveSettings() {
    conversation.system = $('set-system').value;
    const settings = {};
    for (const key of store.kSettings) {
      const input = $('set-' + key);
      if (input.value !== '') settings[key] = Number(input.value);
    }
    conversation.settings = settings;
    persist(conversation);
    ui.settings.close();
    renderList();
  }

  function askForKey(reason) {
    ui.keyReason.textContent = reason || 'This server was started with --api-key. The key is kept in this browser only.';
    ui.keyInput.value = api.apiKey();
    if (!ui.keyDialog.open) ui.keyDialog.showModal();
    ui.keyInput.focus();
  }

  async function loadModel() {
    try {
      const ids = await api.models();
      model = ids[0] || '';
      ui.model.textContent = model;
      if (ui.banner.dataset.source === 'model') showError('');
    } catch (e) {
      if (e.status === 401) {
        askForKey(e.message);
      } else {
        showError(e.message);
        ui.banner.dataset.source = 'model';
        if (e.status === 503 || e.status === 0) setTimeout(loadModel, 2000);
      }
    }
  }

  function saveKey() {
    api.setApiKey(ui.keyInput.value.trim());
    ui.keyDialog.close();
    showError('');
    loadModel();
  }

  // --- layout and keyboard -----------------------------------------------------------------------------
  function setSidebar(open) {
    ui.app.classList.toggle('sidebar-open', open);
    ui.scrim.hidden = !open;
  }

  function fitInput() {
    ui.input.style.height = 'auto';
    ui.input.style.height = Math.min(ui.input.scrollHeight + 2, window.innerHeight * 0.4) + 'px';
  }

  function wire() {
    $('new-chat').addEventListener('click', newConversation);
    ui.list.addEventListener('click', onListClick);
    $('import-button').addEventListener('click', () => ui.importFile.click());
    ui.importFile.addEventListener('change', () => { importFiles(Array.from(ui.importFile.files)); ui.importFile.value = ''; });
    $('key-button').addEventListener('click', () => askForKey());
    $('key-save').addEventListener('click', saveKey);
    $('key-cancel').addEventListener('click', () => ui.keyDialog.close());
    $('key-forget').addEventListener('click', () => { ui.keyInput.value = ''; saveKey(); });
    ui.keyInput.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); saveKey(); } });
    $('settings-button').addEventListener('click', openSettings);
    $('settings-save').addEventListener('click', saveSettings);
    $('settings-cancel').addEventListener('click', () => ui.settings.close());
    $('banner-close').addEventListener('click', () => showError(''));
    $('open-sidebar').addEventListener('click', () => setSidebar(true));
    $('close-sidebar').addEventListener('click', () => setSidebar(false));
    ui.scrim.addEventListener('click', () => setSidebar(false));
    ui.send.addEventListener('click', send);
    ui.stop.addEventListener('click', stopGeneration);
    ui.messages.addEventListener('click', onMessagesClick);
    torchllm.handleCopyButtons(ui.messages);
    ui.input.addEventListener('input', fitInput);
    ui.input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        send();
      }
    });
    document.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && busy()) {
        event.preventDefault();
        stopGeneration();
      }
    });
    // Another tab changed the conversations: show the change unless this tab is streaming into the same one.
    window.addEventListener('storage', (event) => {
      if (!event.key || !event.key.startsWith('torchllm.conversation')) return;
      if (conversation && !busy()) {
        const fresh = store.load(conversation.id);
        if (fresh) conversation = fresh;
        render();
      } else {
        renderList();
      }
    });
  }

  function start() {
    wire();
    const id = store.currentId();
    const saved = (id && store.load(id)) || store.list()[0];
    openConversation(saved || store.create());
    ui.input.focus();
    loadModel();
  }

  start();
})(window.torchllm = window.torchllm || {});
