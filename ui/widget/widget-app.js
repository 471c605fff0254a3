/*
 * The compact chat inside the widget iframe (served at /widget/app.js).
 * Streams answers from /api/ask/stream (server-sent events) and renders answer and sources
 * with textContent only: document text is data and is never parsed as HTML.
 */
(function () {
  "use strict";
  var MAX_HISTORY = 6;
  var log = document.getElementById("cl-log");
  var form = document.getElementById("cl-form");
  var input = document.getElementById("cl-q");
  var send = document.getElementById("cl-send");
  var history = [];
  var busy = false;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function safeHttpUrl(url) {
    if (typeof url !== "string") return null;
    try {
      var u = new URL(url);
      return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
    } catch (e) {
      return null;
    }
  }

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  function renderAnswer(bubble, data) {
    bubble.textContent = "";
    bubble.classList.remove("cl-pending");
    if (data.refused) bubble.classList.add("cl-refused");
    bubble.appendChild(el("p", "cl-text", (data.refused ? "\u2139\uFE0F " : "") + (data.answer || "")));
    // Notes are information (why it was refused, which question is unanswered) unless the API
    // lists them as warnings (the sources differ, the language model's sentences were dropped).
    var warnings = data.warnings || [];
    (data.notes || []).forEach(function (note) {
      var warn = warnings.indexOf(note) >= 0;
      bubble.appendChild(el("p", warn ? "cl-note cl-warning" : "cl-note", (warn ? "\u26A0\uFE0F " : "\u2139\uFE0F ") + note));
    });
    var citations = data.citations || [];
    if (citations.length) {
      var list = el("ol", "cl-sources");
      list.setAttribute("aria-label", "Sources");
      citations.forEach(function (c) {
        var item = el("li", "cl-source");
        var head = el("div", "cl-source-head");
        head.appendChild(el("span", "cl-n", "[" + c.n + "]"));
        var href = safeHttpUrl(c.url);
        if (href) {
          var a = el("a", "cl-title", c.title || c.source);
          a.href = href;
          a.target = "_blank";
          a.rel = "noopener noreferrer nofollow";
          head.appendChild(a);
        } else {
          head.appendChild(el("span", "cl-title", c.title || c.source));
        }
        item.appendChild(head);
        var quote = el("blockquote", "cl-quote");
        quote.appendChild(el("mark", null, c.quote));
        item.appendChild(quote);
        if (!href && c.source) item.appendChild(el("div", "cl-where", c.source));
        list.appendChild(item);
      });
      bubble.appendChild(list);
    }
  }

  function showError(bubble, message) {
    bubble.textContent = "";
    bubble.classList.remove("cl-pending");
    bubble.classList.add("cl-error");
    bubble.appendChild(el("p", "cl-text", message));
  }

  // Parse a server-sent-events body incrementally; calls onEvent(name, parsedData).
  function readEvents(response, onEvent) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    function handle(block) {
      var name = "message";
      var data = [];
      block.split("\n").forEach(function (line) {
        if (line.indexOf("event:") === 0) name = line.slice(6).trim();
        else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
      });
      if (!data.length) return;
      try {
        onEvent(name, JSON.parse(data.join("\n")));
      } catch (e) { /* a damaged event is skipped; the final answer event is authoritative */ }
    }
    function pump() {
      return reader.read().then(function (r) {
        if (r.done) {
          if (buffer.trim()) handle(buffer);
          return;
        }
        buffer += decoder.decode(r.value, { stream: true }).replace(/\r\n/g, "\n");
        var idx;
        while ((idx = buffer.indexOf("\n\n")) !== -1) {
          handle(buffer.slice(0, idx));
          buffer = buffer.slice(idx + 2);
        }
        return pump();
      });
    }
    return pump();
  }

  function ask(question) {
    busy = true;
    send.disabled = true;
    log.appendChild(el("div", "cl-msg cl-user", question));
    var bubble = el("div", "cl-msg cl-bot cl-pending", "\u2026");
    log.appendChild(bubble);
    scrollDown();
    var body = JSON.stringify({ question: question, history: history.slice(-MAX_HISTORY) });
    var streamed = "";
    var done = false;
    fetch("/api/ask/stream", { method: "POST", headers: { "Content-Type": "application/json" }, body: body })
      .then(function (response) {
        if (!response.ok) {
          return response.json().then(
            function (j) { showError(bubble, (j && j.error) || "The request failed."); },
            function () { showError(bubble, "The request failed (" + response.status + ")."); }
          ).then(function () { done = true; });
        }
        return readEvents(response, function (name, data) {
          if (name === "delta") {
            streamed += data.text || "";
            bubble.textContent = streamed;
          } else if (name === "answer") {
            done = true;
            renderAnswer(bubble, data);
            history.push(question);
            // Answered: clear the box, unless the next question is already being typed.
            if (input.value.trim() === question) input.value = "";
          } else if (name === "error") {
            done = true;
            showError(bubble, data.error || "Answering failed.");
          }
          scrollDown();
        });
      })
      .catch(function () {
        done = true;
        showError(bubble, "Could not reach the help server. Please try again.");
      })
      .then(function () {
        if (!done) showError(bubble, "The answer was cut off. Please try again.");
        busy = false;
        send.disabled = false;
        scrollDown();
        input.focus();
      });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var q = input.value.trim();
    if (!q || busy) return;
    ask(q);  // the question stays in the box until it is answered, so a failed one can be sent again
  });

  // Esc inside the frame closes the panel in the host page (widget.js checks our origin).
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" && window.parent !== window) {
      window.parent.postMessage({ type: "citeline:close" }, "*");
    }
  });
  window.addEventListener("message", function (ev) {
    if (ev.data && ev.data.type === "citeline:focus") input.focus();
  });
  // Tell widget.js the chat loaded (it carries no data). A page that may not frame us gets a
  // browser error page instead, never says this, and widget.js explains what went wrong.
  if (window.parent !== window) window.parent.postMessage({ type: "citeline:ready" }, "*");
  input.focus();
})();
