// Conversations kept in this browser (localStorage): an index of ids and one entry per conversation, so a
// change writes one conversation. Export and import use the JSON array of {role, content} that
// `torchllm chat` writes with /save (a system message first when there is one); import also takes an OpenAI
// request body ({"messages": [...]}).
'use strict';
(function (torchllm) {
  const kIndex = 'torchllm.conversations';
  const kPrefix = 'torchllm.conversation.';
  const kCurrent = 'torchllm.current';
  const kSettings = ['temperature', 'top_p', 'top_k', 'min_p', 'max_tokens', 'seed'];

  function newId() {
    const bytes = new Uint8Array(8);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  function readJson(key, fallback) {
    try {
      const text = localStorage.getItem(key);
      return text === null ? fallback : JSON.parse(text);
    } catch (e) {
      return fallback;
    }
  }

  function ids() {
    const list = readJson(kIndex, []);
    return Array.isArray(list) ? list.filter((id) => typeof id === 'string') : [];
  }

  function create(fields) {
    const now = Date.now();
    return Object.assign({ id: newId(), title: '', titled: false, created: now, updated: now, system: '', settings: {}, messages: [] }, fields || {});
  }

  function load(id) {
    const c = readJson(kPrefix + id, null);
    if (!c || typeof c !== 'object' || !Array.isArray(c.messages)) return null;
    c.settings = c.settings && typeof c.settings === 'object' ? c.settings : {};
    return c;
  }

  // Newest first.
  function list() {
    return ids().map(load).filter(Boolean).sort((a, b) => b.updated - a.updated);
  }

  // Writes the conversation; throws a readable error when the browser's storage is full.
  function save(c) {
    try {
      localStorage.setItem(kPrefix + c.id, JSON.stringify(c));
      const all = ids();
      if (!all.includes(c.id)) localStorage.setItem(kIndex, JSON.stringify([c.id, ...all]));
    } catch (e) {
      throw new Error('this browser\'s storage for the page is full; export and delete old conversations (' + e.message + ')');
    }
  }

  function remove(id) {
    localStorage.removeItem(kPrefix + id);
    localStorage.setItem(kIndex, JSON.stringify(ids().filter((x) => x !== id)));
    if (localStorage.getItem(kCurrent) === id) localStorage.removeItem(kCurrent);
  }

  function currentId() { return localStorage.getItem(kCurrent); }
  function setCurrentId(id) { localStorage.setItem(kCurrent, id); }

  // The title a conversation gets from its first message until it is renamed.
  function titleFrom(text) {
    const line = text.trim().split('\n')[0].trim();
    return line.length > 48 ? line.slice(0, 47) + '\u2026' : line || 'New chat';
  }

  // What /save writes: [{role, content}], the system prompt first when set; replies without their stats.
  function exportMessages(c) {
    const out = [];
    if (c.system) out.push({ role: 'system', content: c.system });
    for (const m of c.messages) {
      if (m.role === 'assistant' && m.content === '' && m.error) continue;
      out.push({ role: m.role, content: m.content });
    }
    return out;
  }

  // A conversation from an exported file's text; throws an Error saying what is wrong.
  function importConversation(text, fileName) {
    let json;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new Error('not JSON: ' + e.message);
    }
    const messages = json && !Array.isArray(json) && Array.isArray(json.messages) ? json.messages : json;
    if (!Array.isArray(messages)) throw new Error('expected a JSON array of {role, content} messages');
    const c = create();
    messages.forEach((m, i) => {
      const where = 'message ' + (i + 1) + ': ';
      if (!m || typeof m !== 'object' || typeof m.role !== 'string') throw new Error(where + 'expected an object with a string "role"');
      if (typeof m.content !== 'string') throw new Error(where + 'expected a string "content"');
      if (m.role === 'system' && i === 0) c.system = m.content;
      else if (m.role === 'user' || m.role === 'assistant') c.messages.push({ role: m.role, content: m.content });
      else throw new Error(where + 'role "' + m.role + '" is not one the page keeps (a system message first, then user and assistant)');
    });
    const firstUser = c.messages.find((m) => m.role === 'user');
    c.title = fileName ? fileName.replace(/\.json$/i, '') : titleFrom(firstUser ? firstUser.content : '');
    c.titled = Boolean(fileName);
    return c;
  }

  // The sampling fields of a request: only those the user set.
  function samplingFields(settings) {
    const out = {};
    for (const key of kSettings) {
      const value = settings[key];
      if (value === undefined || value === null || value === '') continue;
      out[key] = Number(value);
    }
    return out;
  }

  torchllm.store = { create, load, list, save, remove, currentId, setCurrentId, titleFrom, exportMessages, importConversation, samplingFields, kSettings };
})(window.torchllm = window.torchllm || {});
