// The message list of one conversation: user turns as plain text, replies as sanitized Markdown with their
// reasoning collapsed, statistics and actions. A streaming reply is updated in place, part by part, so that an
// opened reasoning block stays open and text selection survives.
'use strict';
(function (torchllm) {
  function element(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function button(action, label, title) {
    const b = element('button', '', label);
    b.type = 'button';
    b.dataset.action = action;
    if (title) b.title = title;
    return b;
  }

  function statsText(stats) {
    if (!stats) return '';
    const parts = [stats.tokens + (stats.tokens === 1 ? ' token' : ' tokens')];
    if (stats.tokensPerSecond > 0) parts.push(stats.tokensPerSecond.toFixed(1) + ' tok/s');
    if (stats.ttftMs >= 0) parts.push('first token ' + Math.round(stats.ttftMs) + ' ms');
    return parts.join(' \u00b7 ');
  }

  // Brings a reply's element up to date with `message` ({content, reasoning, pending, stopped, error, stats}).
  function updateReply(article, message) {
    const parts = torchllm.splitThinking(message.content);
    const reasoning = [message.reasoning || '', parts.reasoning].filter(Boolean).join('\n\n');
    let details = article.querySelector('details.reasoning');
    if (reasoning) {
      if (!details) {
        details = element('details', 'reasoning');
        details.append(element('summary'), element('div', 'thoughts'));
        article.querySelector('.role').after(details);
      }
      const thinking = message.pending && (parts.thinking || (message.reasoning && !message.content));
      details.querySelector('summary').textContent = thinking ? 'Thinking\u2026' : 'Reasoning';
      details.querySelector('.thoughts').textContent = reasoning;
    } else if (details) {
      details.remove();
    }
    const body = article.querySelector('.body');
    body.classList.toggle('pending', Boolean(message.pending));
    if (body.dataset.rendered !== parts.answer) {
      torchllm.renderMarkdown(body, parts.answer);
      body.dataset.rendered = parts.answer;
    }
    const error = article.querySelector('.error');
    error.hidden = !message.error;
    error.textContent = message.error || '';
    const meta = article.querySelector('.meta');
    meta.hidden = Boolean(message.pending);
    meta.querySelector('.stopped').hidden = !message.stopped;
    meta.querySelector('.stats').textContent = statsText(message.stats);
  }

  function replyElement(message, index, last) {
    const article = element('article', 'message assistant');
    article.dataset.index = index;
    article.append(element('div', 'role', 'Assistant'), element('div', 'body'));
    const error = element('div', 'error');
    error.setAttribute('role', 'alert');
    const meta = element('div', 'meta');
    meta.append(element('span', 'stopped', 'stopped'), element('span', 'stats'), button('copy-reply', 'Copy', 'Copy the reply as Markdown'));
    if (last) meta.append(button('regenerate', 'Regenerate', 'Generate this reply again'));
    article.append(error, meta);
    updateReply(article, message);
    return article;
  }

  function userElement(message, index, editable) {
    const article = element('article', 'message user');
    article.dataset.index = index;
    article.append(element('div', 'role', 'You'), element('div', 'body', message.content));
    const meta = element('div', 'meta');
    if (editable) meta.append(button('edit', 'Edit', 'Change this message and generate the reply again'));
    article.append(meta);
    return article;
  }

  // Replaces the list with `conversation`'s messages; `busy` hides the actions while a reply streams.
  function renderConversation(container, conversation, busy) {
    const nodes = [];
    const n = conversation.messages.length;
    conversation.messages.forEach((m, i) => {
      if (m.role === 'user') nodes.push(userElement(m, i, !busy));
      else nodes.push(replyElement(m, i, !busy && i === n - 1));
    });
    const empty = container.querySelector('#empty');
    container.replaceChildren(...nodes);
    if (empty) {
      empty.hidden = n > 0;
      container.prepend(empty);
    }
  }

  // Turns a user message into an editor; `onSave(text)` regenerates from it.
  function startEdit(article, text, onSave) {
    const body = article.querySelector('.body');
    const meta = article.querySelector('.meta');
    const edit = element('div', 'edit');
    const area = element('textarea');
    area.value = text;
    area.setAttribute('aria-label', 'Edit the message');
    const actions = element('div', 'actions');
    const cancel = button('edit-cancel', 'Cancel');
    const save = button('edit-save', 'Save & regenerate');
    save.className = 'primary';
    actions.append(cancel, save);
    edit.append(area, actions);
    body.hidden = true;
    meta.hidden = true;
    body.after(edit);
    area.focus();
    const close = () => { edit.remove(); body.hidden = false; meta.hidden = false; };
    cancel.addEventListener('click', close);
    save.addEventListener('click', () => { if (area.value.trim()) onSave(area.value); });
    area.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        save.click();
      } else if (event.key === 'Escape') {
        event.stopPropagation();
        close();
      }
    });
  }

  torchllm.messages = { renderConversation, updateReply, startEdit };
})(window.torchllm = window.torchllm || {});
