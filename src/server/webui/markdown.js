// Model output as Markdown (marked), sanitized (DOMPurify) before it touches the page, with highlighted code
// blocks (highlight.js) that carry a copy button. Nothing the model writes can run script or load anything:
// DOMPurify drops event handlers and javascript: URLs, images keep only data: sources, and the server's
// Content-Security-Policy refuses inline script besides.
'use strict';
(function (torchllm) {
  marked.use({ gfm: true, breaks: false });

  DOMPurify.addHook('afterSanitizeAttributes', (node) => {
    if (node.tagName === 'A' && node.hasAttribute('href')) {
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer');
    }
    // The page sends nothing anywhere but its server: no remote images.
    if (node.tagName === 'IMG') {
      const src = node.getAttribute('src') || '';
      if (!/^data:image\/(png|gif|jpeg|webp);/i.test(src)) node.removeAttribute('src');
      node.removeAttribute('srcset');
    }
  });

  const kSanitize = {
    USE_PROFILES: { html: true },
    FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'option', 'dialog'],
    FORBID_ATTR: ['style', 'id', 'name'],
    RETURN_DOM_FRAGMENT: true,
  };

  // Splits a reply into reasoning and answer: a <think>...</think> block (Qwen3, DeepSeek-R1 templates). An
  // unclosed block is reasoning still in progress.
  function splitThinking(text) {
    const open = text.indexOf('<think>');
    if (open < 0 || text.slice(0, open).trim() !== '') return { reasoning: '', answer: text, thinking: false };
    const rest = text.slice(open + '<think>'.length);
    const close = rest.indexOf('</think>');
    if (close < 0) return { reasoning: rest.trim(), answer: '', thinking: true };
    return { reasoning: rest.slice(0, close).trim(), answer: rest.slice(close + '</think>'.length).replace(/^\s+/, ''), thinking: false };
  }

  // Replaces `container`'s children with `markdown` rendered and sanitized.
  function renderMarkdown(container, markdown) {
    const fragment = DOMPurify.sanitize(marked.parse(markdown), kSanitize);
    for (const table of fragment.querySelectorAll('table')) {
      const wrap = document.createElement('div');
      wrap.className = 'table-wrap';
      table.replaceWith(wrap);
      wrap.appendChild(table);
    }
    for (const code of fragment.querySelectorAll('pre > code')) {
      const language = /\blanguage-([\w+#.-]+)/.exec(code.className);
      if (language && !hljs.getLanguage(language[1])) code.className = '';
      hljs.highlightElement(code);
      const copy = document.createElement('button');
      copy.type = 'button';
      copy.className = 'copy';
      copy.textContent = 'Copy';
      code.parentElement.appendChild(copy);
    }
    container.replaceChildren(fragment);
  }

  // Copies text to the clipboard: the Clipboard API where the page is a secure context (localhost counts),
  // else a selection and execCommand.
  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return;
    }
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    if (!ok) throw new Error('the browser refused to copy');
  }

  // One listener for every copy button of a code block inside `root`.
  function handleCopyButtons(root) {
    root.addEventListener('click', (event) => {
      const button = event.target.closest('pre > button.copy');
      if (!button) return;
      const code = button.parentElement.querySelector('code');
      copyText(code ? code.textContent : '').then(
        () => { button.textContent = 'Copied'; },
        () => { button.textContent = 'Copy failed'; });
      setTimeout(() => { button.textContent = 'Copy'; }, 1500);
    });
  }

  torchllm.splitThinking = splitThinking;
  torchllm.renderMarkdown = renderMarkdown;
  torchllm.copyText = copyText;
  torchllm.handleCopyButtons = handleCopyButtons;
})(window.torchllm = window.torchllm || {});
