// The server's OpenAI endpoints as the page uses them: the model list, and chat completions streamed as
// server-sent events. Errors become ApiError with a message a person can act on.
'use strict';
(function (torchllm) {
  const kKey = 'torchllm.apiKey';

  class ApiError extends Error {
    constructor(status, message, code) {
      super(message);
      this.status = status;
      this.code = code || '';
    }
  }

  function apiKey() { return localStorage.getItem(kKey) || ''; }
  function setApiKey(key) {
    if (key) localStorage.setItem(kKey, key);
    else localStorage.removeItem(kKey);
  }

  function headers() {
    const h = { 'Content-Type': 'application/json' };
    const key = apiKey();
    if (key) h.Authorization = 'Bearer ' + key;
    return h;
  }

  // What the person reading the page should know about a failed request.
  function readable(status, message, code) {
    if (status === 401) {
      return apiKey() ? 'The server refused the API key saved in this browser. Enter the key the server was started with.'
                      : 'This server needs an API key (it was started with --api-key). Enter it to continue.';
    }
    if (status === 503) {
      if (/loading/i.test(message)) return 'The model is still loading; try again in a moment.';
      return 'The server is busy (' + (message || 'no free slot') + '). Try again in a moment.';
    }
    if (code === 'context_length_exceeded' || (status === 400 && /maximum context length/i.test(message || ''))) {
      return 'The conversation is too long for the model: ' + message + ' Start a new chat, delete older turns, or lower Max tokens in Settings.';
    }
    if (!message) return 'The server answered HTTP ' + status + '.';
    return message + ' (HTTP ' + status + (code ? ', ' + code : '') + ')';
  }

  async function errorFrom(response) {
    let message = '';
    let code = '';
    try {
      const body = await response.json();
      if (body && body.error) {
        message = String(body.error.message || '');
        code = String(body.error.code || '');
      }
    } catch (e) { /* not JSON: the status says enough */ }
    return new ApiError(response.status, readable(response.status, message, code), code);
  }

  async function request(path, options) {
    let response;
    try {
      response = await fetch(path, Object.assign({ headers: headers(), cache: 'no-store' }, options));
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new ApiError(0, 'Cannot reach the server (' + e.message + '). Is `torchllm serve` still running?');
    }
    if (!response.ok) throw await errorFrom(response);
    return response;
  }

  // The ids of the models the server serves.
  async function models() {
    const body = await (await request('/v1/models')).json();
    return (body.data || []).map((m) => m.id);
  }

  // Streams a chat completion: yields each parsed event object until [DONE]. Aborting `signal` closes the
  // connection, and the server cancels the generation.
  async function* streamChat(body, signal) {
    const response = await request('/v1/chat/completions', { method: 'POST', body: JSON.stringify(body), signal });
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
        const data = block.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n');
        if (data === '') continue;
        if (data === '[DONE]') return;
        let event;
        try {
          event = JSON.parse(data);
        } catch (e) {
          throw new ApiError(0, 'The server sent an event that is not JSON: ' + data.slice(0, 200));
        }
        if (event.error) {
          throw new ApiError(event.error.status || 0, readable(400, String(event.error.message || ''), event.error.code), event.error.code);
        }
        yield event;
      }
    }
    throw new ApiError(0, 'The connection closed before the reply was complete.');
  }

  torchllm.api = { ApiError, apiKey, setApiKey, models, streamChat, readable };
})(window.torchllm = window.torchllm || {});
