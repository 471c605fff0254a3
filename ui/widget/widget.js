/*
 * citeline help widget: one line embeds it on any page.
 *
 *   <script src="https://YOUR-CITELINE-HOST/widget.js" data-title="Help" data-position="right"></script>
 *
 * Adds a launcher button and a panel holding an iframe of HOST/widget (the compact chat).
 * HOST is taken from this script's own src, so the snippet is the only configuration.
 * Options (data-*): title (panel heading, default "Help"), position ("right" | "left"),
 * color (launcher colour, #rgb or #rrggbb), open ("true" to start open).
 * If the chat does not load (this page's origin is not in the server's CITELINE_ALLOWED_ORIGINS,
 * or the server is down), the panel says so and the console names the setting.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__citelineWidgetLoaded) return;
  window.__citelineWidgetLoaded = true;

  var host = new URL(script.src, window.location.href).origin;
  var title = (script.getAttribute("data-title") || "Help").slice(0, 60);
  var side = script.getAttribute("data-position") === "left" ? "left" : "right";
  var color = script.getAttribute("data-color") || "";
  if (!/^#(?:[0-9a-fA-F]{3}){1,2}$/.test(color)) color = "#2563eb";
  var startOpen = script.getAttribute("data-open") === "true";

  var css =
    ".citeline-launcher{position:fixed;bottom:20px;" + side + ":20px;z-index:2147483000;" +
    "display:flex;align-items:center;gap:8px;border:0;border-radius:999px;padding:12px 18px;" +
    "font:600 15px/1.2 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#fff;background:" + color + ";" +
    "box-shadow:0 6px 20px rgba(0,0,0,.25);cursor:pointer}" +
    ".citeline-launcher:focus-visible{outline:3px solid #111;outline-offset:3px}" +
    ".citeline-panel{position:fixed;bottom:84px;" + side + ":20px;z-index:2147483001;" +
    "width:min(400px,calc(100vw - 24px));height:min(600px,calc(100vh - 110px));display:none;" +
    "flex-direction:column;background:#fff;border-radius:14px;overflow:hidden;" +
    "box-shadow:0 12px 40px rgba(0,0,0,.3);border:1px solid #d0d5dd}" +
    ".citeline-panel.citeline-open{display:flex}" +
    ".citeline-head{display:flex;align-items:center;justify-content:space-between;padding:10px 14px;" +
    "background:" + color + ";color:#fff;font:600 15px/1.2 system-ui,-apple-system,Segoe UI,Roboto,sans-serif}" +
    ".citeline-close{border:0;background:transparent;color:#fff;font-size:22px;line-height:1;cursor:pointer;" +
    "padding:2px 8px;border-radius:6px}" +
    ".citeline-close:focus-visible{outline:2px solid #fff}" +
    ".citeline-frame{flex:1;border:0;width:100%;background:#fff}" +
    ".citeline-unavailable{flex:1;margin:0;padding:20px 16px;color:#1f2937;background:#fff;" +
    "font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif}" +
    "@media (max-width:480px){.citeline-panel{" + side + ":12px;bottom:76px;width:calc(100vw - 24px);" +
    "height:calc(100vh - 96px)}}";
  var style = document.createElement("style");
  style.textContent = css;
  document.head.appendChild(style);

  var launcher = document.createElement("button");
  launcher.type = "button";
  launcher.className = "citeline-launcher";
  launcher.setAttribute("aria-haspopup", "dialog");
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "citeline-panel");
  launcher.setAttribute("aria-label", "Open " + title + " chat");
  // A drawn icon, not an emoji: emoji fonts are missing on many systems.
  var svgNS = "http://www.w3.org/2000/svg";
  var icon = document.createElementNS(svgNS, "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("width", "20");
  icon.setAttribute("height", "20");
  icon.setAttribute("aria-hidden", "true");
  var bubble = document.createElementNS(svgNS, "path");
  bubble.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
  bubble.setAttribute("fill", "currentColor");
  icon.appendChild(bubble);
  launcher.appendChild(icon);
  launcher.appendChild(document.createTextNode(title));

  var panel = document.createElement("div");
  panel.id = "citeline-panel";
  panel.className = "citeline-panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", title);

  var head = document.createElement("div");
  head.className = "citeline-head";
  var heading = document.createElement("span");
  heading.textContent = title;
  var close = document.createElement("button");
  close.type = "button";
  close.className = "citeline-close";
  close.setAttribute("aria-label", "Close " + title + " chat");
  close.textContent = "\u00D7";
  head.appendChild(heading);
  head.appendChild(close);
  panel.appendChild(head);

  var frame = null; // created on first open, so pages that never open the widget load nothing more
  var ready = false; // the chat in the frame said "citeline:ready"
  var notice = null; // shown in place of the frame when the chat did not load
  // The chat says it is ready while it loads, so before the frame's load event; allow it this
  // long after that event, and this long in all (some error pages never fire one).
  var READY_AFTER_LOAD_MS = 2000;
  var READY_TIMEOUT_MS = 20000;

  function ensureFrame() {
    if (frame) return;
    frame = document.createElement("iframe");
    frame.className = "citeline-frame";
    frame.title = title + " chat";
    frame.src = host + "/widget";
    frame.setAttribute("referrerpolicy", "strict-origin-when-cross-origin");
    frame.addEventListener("load", function () { setTimeout(checkReady, READY_AFTER_LOAD_MS); });
    setTimeout(checkReady, READY_TIMEOUT_MS);
    panel.appendChild(frame);
  }

  // The frame holds a browser error page, not the chat: say so instead of a broken-frame icon.
  function checkReady() {
    if (ready || notice) return;
    frame.style.display = "none";
    notice = document.createElement("p");
    notice.className = "citeline-unavailable";
    notice.setAttribute("role", "alert");
    notice.textContent = "Sorry, the help chat could not be loaded here. Please try again later.";
    panel.appendChild(notice);
    if (window.console) {
      window.console.error(
        "citeline widget: the chat at " + host + "/widget did not load in this page. If this is your site, " +
        "add its origin (" + window.location.origin + ") to CITELINE_ALLOWED_ORIGINS on the citeline " +
        "server (comma-separated), restart it, and check that it is running."
      );
    }
  }

  function onReady() {
    ready = true;
    if (notice) { // it was only slow
      notice.parentNode.removeChild(notice);
      notice = null;
      frame.style.display = "";
    }
    if (panel.classList.contains("citeline-open")) focusChat();
  }

  function focusChat() {
    if (!frame) return;
    frame.focus();
    // Not before the chat is ready: the message would reach the frame's blank first page (a
    // console warning). The chat focuses its own box as it loads.
    if (ready) frame.contentWindow.postMessage({ type: "citeline:focus" }, host);
  }

  function open() {
    ensureFrame();
    panel.classList.add("citeline-open");
    launcher.setAttribute("aria-expanded", "true");
    launcher.setAttribute("aria-label", "Close " + title + " chat");
    focusChat();
  }

  function hide() {
    if (!panel.classList.contains("citeline-open")) return;
    panel.classList.remove("citeline-open");
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-label", "Open " + title + " chat");
    launcher.focus();
  }

  launcher.addEventListener("click", function () {
    if (panel.classList.contains("citeline-open")) hide(); else open();
  });
  close.addEventListener("click", hide);
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape") hide();
  });
  // The chat's messages (ready; Esc pressed inside it); only trust our own frame and host.
  window.addEventListener("message", function (ev) {
    if (!frame || ev.source !== frame.contentWindow || ev.origin !== host) return;
    var type = ev.data && ev.data.type;
    if (type === "citeline:ready") onReady();
    else if (type === "citeline:close") hide();
  });

  function mount() {
    document.body.appendChild(panel);
    document.body.appendChild(launcher);
    if (startOpen) open();
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
