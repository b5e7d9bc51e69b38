/* The site's enhancements: a difficulty filter, a "hide answers" switch and offline search.
   Without JavaScript every question and answer stays visible and the search box stays hidden.
   Book text is only ever shown with textContent, never parsed as HTML. */
(function () {
  "use strict";

  var doc = document;
  var root = doc.documentElement;
  var LEVELS = ["easy", "medium", "hard"];
  var MAX_RESULTS = 30;
  var scriptUrl = doc.currentScript ? doc.currentScript.src : "site.js";
  var siteTitle = doc.querySelector(".site-title");
  var storeKey = "bookbuild:" + (siteTitle ? siteTitle.textContent.trim() : "") + ":practice";

  root.classList.add("js");

  function el(tag, attrs, text) {
    var node = doc.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text) node.textContent = text;
    return node;
  }

  /* --- practice: difficulty filter and "hide answers" --- */

  function loadState() {
    var state = { hidden: [], hideAnswers: false };
    try {
      var saved = JSON.parse(window.localStorage.getItem(storeKey) || "{}");
      if (Array.isArray(saved.hidden)) state.hidden = saved.hidden.filter(function (l) { return LEVELS.indexOf(l) >= 0; });
      state.hideAnswers = saved.hideAnswers === true;
    } catch (e) { /* no storage (private window, some file:// setups): start from defaults */ }
    return state;
  }

  function saveState(state) {
    try { window.localStorage.setItem(storeKey, JSON.stringify(state)); } catch (e) { /* see loadState */ }
  }

  function applyState(state) {
    LEVELS.forEach(function (level) { root.classList.toggle("hide-" + level, state.hidden.indexOf(level) >= 0); });
    root.classList.toggle("hide-answers", state.hideAnswers);
  }

  /* What the filter counts and hides on a page: its questions; on a page of appendix answers, the
     answers (each carries its question's difficulty). An inline answer is part of its question,
     not a second entry: it hides and shows with the question around it. */
  function practiceItems() {
    var questions = doc.querySelectorAll(".question");
    if (questions.length) return { noun: "questions", items: Array.prototype.slice.call(questions) };
    var answers = Array.prototype.filter.call(doc.querySelectorAll(".answer[data-difficulty]"), function (a) {
      return !a.parentElement || !a.parentElement.closest(".question");
    });
    return { noun: "answers", items: answers };
  }

  function levelOf(item) {
    for (var i = 0; i < LEVELS.length; i++) if (item.classList.contains(LEVELS[i])) return LEVELS[i];
    return item.getAttribute("data-difficulty");
  }

  function isShown(item) { return item.getClientRects().length > 0; }

  var refreshStatus = function () {};

  function practiceTools(state) {
    var main = doc.getElementById("content");
    var found = practiceItems();
    var items = found.items;
    if (!main || !items.length) return;
    var tools = el("div", { "class": "practice-tools" });
    var fieldset = el("fieldset", { "class": "difficulty-filter" });
    fieldset.appendChild(el("legend", {}, "Show difficulty"));
    var counts = {};
    LEVELS.forEach(function (level) {
      counts[level] = items.filter(function (item) { return levelOf(item) === level; }).length;
      var label = el("label", { "class": "difficulty-option " + level });
      var box = el("input", { type: "checkbox", name: "difficulty", value: level });
      box.checked = state.hidden.indexOf(level) < 0;
      box.addEventListener("change", function () {
        state.hidden = LEVELS.filter(function (l) {
          var input = fieldset.querySelector("input[value='" + l + "']");
          return input && !input.checked;
        });
        update();
      });
      label.appendChild(box);
      label.appendChild(doc.createTextNode(" " + level + " (" + counts[level] + ")"));
      fieldset.appendChild(label);
    });
    tools.appendChild(fieldset);
    if (doc.querySelector("details.answer, a.to-answer")) {
      var label = el("label", { "class": "hide-answers-switch" });
      var toggle = el("input", { type: "checkbox", role: "switch", name: "hide-answers" });
      toggle.checked = state.hideAnswers;
      toggle.addEventListener("change", function () { state.hideAnswers = toggle.checked; update(); });
      label.appendChild(toggle);
      label.appendChild(doc.createTextNode(" Hide answers"));
      tools.appendChild(label);
    }
    var status = el("p", { "class": "practice-status", role: "status" });
    tools.appendChild(status);
    var heading = main.querySelector("h1");
    main.insertBefore(tools, heading ? heading.nextSibling : main.firstChild);

    /* what the reader sees: a question a link revealed counts as shown */
    refreshStatus = function () {
      var total = items.length;
      var shown = items.filter(isShown).length;
      status.textContent = shown === total ? "Showing all " + total + " " + found.noun + "."
        : "Showing " + shown + " of " + total + " " + found.noun + ".";
    };

    function update() {
      applyState(state);
      saveState(state);
      refreshStatus();
    }
    update();
  }

  /* A link to a question the filter hides (from search, a cross-reference, a bookmark) shows it. */
  function revealTarget() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var target = id && doc.getElementById(id);
    if (!target) return;
    Array.prototype.forEach.call(doc.querySelectorAll(".revealed"), function (e) { e.classList.remove("revealed"); });
    var changed = false;
    /* an inline answer sits in its question: both may be hidden (by difficulty, by "hide answers") */
    for (var box = target.closest(".question, .answer"); box; box = box.parentElement && box.parentElement.closest(".question, .answer")) {
      if (window.getComputedStyle(box).display === "none") { box.classList.add("revealed"); changed = true; }
    }
    var details = target.closest("details");
    if (details && !details.open) { details.open = true; changed = true; }
    refreshStatus();
    if (changed) target.scrollIntoView();
  }

  /* Printing shows every answer, then puts the disclosures back as they were. */
  var closedForPrint = [];
  window.addEventListener("beforeprint", function () {
    closedForPrint = Array.prototype.filter.call(doc.querySelectorAll("details:not([open])"), function (d) {
      d.open = true;
      return true;
    });
  });
  window.addEventListener("afterprint", function () {
    closedForPrint.forEach(function (d) { d.open = false; });
    closedForPrint = [];
  });

  /* --- search: an index loaded as a classic script element, so it works from file:// too --- */

  function fold(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function terms(query) {
    return fold(query).split(/\s+/).map(function (t) {
      return t.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, "");
    }).filter(Boolean);
  }

  function isWordStart(text, at) {
    return at === 0 || !/[\p{L}\p{N}]/u.test(text.charAt(at - 1));
  }

  function score(entry, words) {
    var total = entry.kind === "question" ? 1 : 0;
    for (var i = 0; i < words.length; i++) {
      var inTitle = entry.foldedTitle.indexOf(words[i]);
      var inText = entry.folded.indexOf(words[i]);
      if (inTitle < 0 && inText < 0) return 0;
      if (inTitle >= 0) total += 10;
      if (inText >= 0) total += isWordStart(entry.folded, inText) ? 3 : 1;
    }
    return total;
  }

  function snippet(text, words) {
    var lower = text.toLowerCase();
    var at = -1;
    for (var i = 0; i < words.length && at < 0; i++) at = lower.indexOf(words[i]);
    var start = Math.max(0, at < 0 ? 0 : at - 60);
    if (start > 0) {
      var space = text.indexOf(" ", start);
      start = space >= 0 && space < at ? space + 1 : start;
    }
    var end = Math.min(text.length, start + 180);
    return { text: (start > 0 ? "…" : "") + text.slice(start, end) + (end < text.length ? "…" : ""),
             words: words };
  }

  function highlighted(parent, cut) {
    var text = cut.text;
    var lower = text.toLowerCase();
    var pos = 0;
    while (pos < text.length) {
      var next = -1, len = 0;
      cut.words.forEach(function (w) {
        var at = lower.indexOf(w, pos);
        if (at >= 0 && (next < 0 || at < next)) { next = at; len = w.length; }
      });
      if (next < 0 || !len) break;
      parent.appendChild(doc.createTextNode(text.slice(pos, next)));
      parent.appendChild(el("mark", {}, text.slice(next, next + len)));
      pos = next + len;
    }
    parent.appendChild(doc.createTextNode(text.slice(pos)));
  }

  function setupSearch() {
    var box = doc.querySelector(".site-search");
    var input = doc.getElementById("search-input");
    var panel = doc.getElementById("search-panel");
    var status = doc.getElementById("search-status");
    var list = doc.getElementById("search-results");
    if (!box || !input || !panel || !status || !list) return;
    box.hidden = false;
    var entries = null;
    var loading = false;
    var timer = 0;

    function loadIndex(then) {
      if (entries) return then();
      if (window.BOOKBUILD_SEARCH) {
        entries = window.BOOKBUILD_SEARCH.entries.map(function (e) {
          return { entry: e, kind: e.kind, foldedTitle: fold(e.title + " " + (e.difficulty || "")), folded: fold(e.text) };
        });
        return then();
      }
      if (loading) return undefined;
      loading = true;
      status.textContent = "Loading the search index…";
      panel.hidden = false;
      var script = el("script", { src: scriptUrl.replace(/site\.js(\?.*)?$/, "search-index.js") });
      script.onload = function () { loading = false; loadIndex(run); };
      script.onerror = function () { loading = false; status.textContent = "The search index could not be loaded."; };
      doc.head.appendChild(script);
      return undefined;
    }

    function close() { panel.hidden = true; }

    function run() {
      var query = input.value.trim();
      if (!query) { list.textContent = ""; status.textContent = ""; close(); return; }
      loadIndex(function () {
        var words = terms(query);
        var found = [];
        entries.forEach(function (item, order) {
          var s = words.length ? score(item, words) : 0;
          if (s > 0) found.push({ item: item, score: s, order: order });
        });
        found.sort(function (a, b) { return b.score - a.score || a.order - b.order; });
        render(found, words, query);
      });
    }

    function render(found, words, query) {
      list.textContent = "";
      found.slice(0, MAX_RESULTS).forEach(function (hit) {
        var e = hit.item.entry;
        var li = el("li", { "class": "search-result result-" + e.kind });
        var link = el("a", { href: e.url });
        var where = el("span", { "class": "result-where" }, e.where);
        var title = el("span", { "class": "result-title" }, e.kind === "section" && e.title === e.where ? "" : e.title);
        link.appendChild(where);
        if (title.textContent) link.appendChild(title);
        if (e.difficulty) link.appendChild(el("span", { "class": "difficulty " + e.difficulty }, e.difficulty));
        if (e.text) {
          var text = el("span", { "class": "result-snippet" });
          highlighted(text, snippet(e.text, words));
          link.appendChild(text);
        }
        li.appendChild(link);
        list.appendChild(li);
      });
      var n = found.length;
      status.textContent = n === 0 ? "No results for “" + query + "”."
        : n + (n === 1 ? " result" : " results") + (n > MAX_RESULTS ? ", showing the first " + MAX_RESULTS : "") + ".";
      panel.hidden = false;
    }

    function links() { return Array.prototype.slice.call(list.querySelectorAll("a")); }

    input.addEventListener("input", function () { window.clearTimeout(timer); timer = window.setTimeout(run, 80); });
    input.addEventListener("focus", function () { if (input.value.trim()) run(); });
    input.addEventListener("keydown", function (event) {
      var all = links();
      if (event.key === "ArrowDown" && all.length) { event.preventDefault(); all[0].focus(); }
      else if (event.key === "Enter" && all.length) { event.preventDefault(); all[0].click(); }
      else if (event.key === "Escape") { input.value = ""; run(); }
    });
    list.addEventListener("keydown", function (event) {
      var all = links();
      var at = all.indexOf(doc.activeElement);
      if (event.key === "ArrowDown" && at < all.length - 1) { event.preventDefault(); all[at + 1].focus(); }
      else if (event.key === "ArrowUp") { event.preventDefault(); (at > 0 ? all[at - 1] : input).focus(); }
      else if (event.key === "Escape") { event.preventDefault(); close(); input.focus(); }
    });
    list.addEventListener("click", function (event) { if (event.target.closest("a")) close(); });
    box.addEventListener("focusout", function (event) {
      if (!event.relatedTarget || !box.contains(event.relatedTarget)) close();
    });
    doc.addEventListener("keydown", function (event) {
      var t = event.target;
      var typing = t && (t.isContentEditable || /^(input|textarea|select)$/i.test(t.tagName));
      if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
        event.preventDefault();
        input.focus();
      }
    });
  }

  function start() {
    var state = loadState();
    applyState(state);
    practiceTools(state);
    setupSearch();
    revealTarget();
    window.addEventListener("hashchange", revealTarget);
  }

  if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", start);
  else start();
})();
