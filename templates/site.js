/* The site's enhancements: a difficulty filter, a "hide answers" switch, offline search, and
   practice mode (marks on questions, their filters, the progress page and the quiz).
   Without JavaScript every question and answer stays visible and no control shows.
   Book text from the search index is only ever shown with textContent. The quiz shows the
   prompt and answer HTML that the book's own pages hold (cut from them by the build, as pandoc
   wrote it), parsed inertly with DOMParser, without scripts, event handlers or ids. */
(function () {
  "use strict";

  var doc = document;
  var root = doc.documentElement;
  var LEVELS = ["easy", "medium", "hard"];
  var ONLY = ["not-done", "review"];  /* the marks filters: "not done", "to review" */
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
    var state = { hidden: [], hideAnswers: false, only: [] };
    try {
      var saved = JSON.parse(window.localStorage.getItem(storeKey) || "{}");
      if (Array.isArray(saved.hidden)) state.hidden = saved.hidden.filter(function (l) { return LEVELS.indexOf(l) >= 0; });
      if (Array.isArray(saved.only)) state.only = saved.only.filter(function (o) { return ONLY.indexOf(o) >= 0; });
      state.hideAnswers = saved.hideAnswers === true;
    } catch (e) { /* no storage (private window, some file:// setups): start from defaults */ }
    return state;
  }

  function saveState(state) {
    try { window.localStorage.setItem(storeKey, JSON.stringify(state)); } catch (e) { /* see loadState */ }
  }

  function applyState(state) {
    LEVELS.forEach(function (level) { root.classList.toggle("hide-" + level, state.hidden.indexOf(level) >= 0); });
    ONLY.forEach(function (only) { root.classList.toggle("only-" + only, state.only.indexOf(only) >= 0); });
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
  var refreshMarkCounts = function () {};

  function practiceTools(state) {
    var main = doc.getElementById("content");
    var found = practiceItems();
    var items = found.items;
    if (!main || !items.length) return;
    items.forEach(function (item) { item.classList.add("practice-item"); });
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
    var marksFilter = el("fieldset", { "class": "marks-filter" });
    marksFilter.appendChild(el("legend", {}, "Show only"));
    var onlyLabels = {};
    ONLY.forEach(function (only) {
      var label = el("label", { "class": "marks-option" });
      var box = el("input", { type: "checkbox", name: "only", value: only });
      box.checked = state.only.indexOf(only) >= 0;
      box.addEventListener("change", function () {
        state.only = ONLY.filter(function (o) { return marksFilter.querySelector("input[value='" + o + "']").checked; });
        update();
      });
      label.appendChild(box);
      onlyLabels[only] = doc.createTextNode("");
      label.appendChild(onlyLabels[only]);
      marksFilter.appendChild(label);
    });
    tools.appendChild(marksFilter);
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

    /* the marks filters count this page's entries by the marks kept in this browser */
    refreshMarkCounts = function (marks) {
      var notDone = 0, review = 0;
      items.forEach(function (item) {
        var mark = markOf(marks, item.getAttribute("data-qid"));
        item.classList.toggle("is-done", mark.done);
        item.classList.toggle("is-review", mark.review);
        if (!mark.done) notDone += 1;
        if (mark.review) review += 1;
      });
      onlyLabels["not-done"].textContent = " not done (" + notDone + ")";
      onlyLabels.review.textContent = " to review (" + review + ")";
    };
    refreshMarkCounts(loadMarks());

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

  /* --- practice mode: marks, the schedule, the progress page and the quiz ---

     Everything a reader does is kept in this browser's local storage under one key per book,
     "bookbuild:<book identifier>:marks" (the identifier stays the same from one release to the
     next, so the marks do too), as {version: 1, questions: {<question id>: mark}}; a mark is
     {done, review, box, due, graded, t}: the two marks a reader sets, the quiz's schedule
     (box 0 = never graded; due and graded are times in ms) and t, when the mark last changed
     (an import keeps the newer of two marks of a question).

     The schedule is a Leitner system of five boxes; a question never graded counts as in box 1.
     A grade moves it:
       again: back to box 1, due again in 10 minutes (and shown again later in the same quiz);
       hard:  stays in its box;  good: one box up;  easy: two boxes up (at most box 5);
     and it is due again after its new box's interval: 1, 3, 7, 14, 30 days for boxes 1 to 5.
     A quiz takes the chosen questions that are due (the longest overdue first, then book
     order), then the new ones in book order, up to its length. Grading marks a question done;
     "again" and "hard" also mark it to review, "good" and "easy" clear that mark.
     Time is Date.now() throughout, so a test can set the clock. */

  var bookMeta = doc.querySelector('meta[name="bookbuild-book"]');
  var bookId = bookMeta ? bookMeta.getAttribute("content") : (siteTitle ? siteTitle.textContent.trim() : "");
  var marksKey = "bookbuild:" + bookId + ":marks";
  var MINUTE = 60 * 1000;
  var DAY = 24 * 60 * MINUTE;
  var INTERVAL_DAYS = [0, 1, 3, 7, 14, 30];  /* by box; box 0: never graded */
  var AGAIN_DELAY = 10 * MINUTE;
  var GRADES = ["again", "hard", "good", "easy"];

  function now() { return Date.now(); }

  function blankMark() { return { done: false, review: false, box: 0, due: 0, graded: 0, t: 0 }; }

  function num(value, low, high) {
    return typeof value === "number" && isFinite(value) && value >= low && value <= high;
  }

  /* a mark as read from storage or a file: well formed, or null */
  function cleanMark(raw) {
    if (!raw || typeof raw !== "object") return null;
    var mark = blankMark();
    mark.done = raw.done === true;
    mark.review = raw.review === true;
    if (num(raw.box, 0, 5)) mark.box = Math.floor(raw.box);
    ["due", "graded", "t"].forEach(function (name) { if (num(raw[name], 0, 8.64e15)) mark[name] = raw[name]; });
    return mark;
  }

  function cleanMarks(raw) {
    var marks = {};
    if (raw && typeof raw === "object") {
      Object.keys(raw).forEach(function (qid) {
        var mark = /^[a-z0-9-]+$/.test(qid) ? cleanMark(raw[qid]) : null;
        if (mark) marks[qid] = mark;
      });
    }
    return marks;
  }

  function loadMarks() {
    try {
      var saved = JSON.parse(window.localStorage.getItem(marksKey) || "{}");
      return cleanMarks(saved && saved.questions);
    } catch (e) { return {}; }
  }

  function saveMarks(marks) {
    try { window.localStorage.setItem(marksKey, JSON.stringify({ version: 1, questions: marks })); } catch (e) { /* no storage */ }
  }

  function markOf(marks, qid) { return marks[qid] || blankMark(); }

  /* one of three for the progress page: to review (marked so, done or not), done, not seen */
  function statusOf(mark) { return mark.review ? "review" : mark.done ? "done" : "unseen"; }

  /* change one question's mark: read the store afresh (another tab may have written it) */
  function changeMark(qid, change) {
    var marks = loadMarks();
    var mark = markOf(marks, qid);
    change(mark);
    mark.t = now();
    marks[qid] = mark;
    saveMarks(marks);
    return marks;
  }

  /* the Leitner rule above: the mark after `grade` at time `at` */
  function schedule(mark, grade, at) {
    var box;
    if (grade === "again") {
      box = 1;
      mark.due = at + AGAIN_DELAY;
    } else {
      box = Math.max(1, mark.box) + (grade === "hard" ? 0 : grade === "good" ? 1 : 2);
      box = Math.min(5, box);
      mark.due = at + INTERVAL_DAYS[box] * DAY;
    }
    mark.box = box;
    mark.graded = at;
    mark.done = true;
    mark.review = grade === "again" || grade === "hard";
    return mark;
  }

  function isNew(mark) { return !mark.graded; }
  function isDue(mark, at) { return !isNew(mark) && mark.due <= at; }

  function plural(n, one, many) { return n + " " + (n === 1 ? one : many); }

  function inWords(ms) {
    var minutes = Math.max(1, Math.round(ms / MINUTE));
    if (minutes < 60) return plural(minutes, "minute", "minutes");
    var hours = Math.round(ms / (60 * MINUTE));
    if (hours < 24) return plural(hours, "hour", "hours");
    return plural(Math.round(ms / DAY), "day", "days");
  }

  function dateText(at) {
    return new Date(at).toLocaleDateString(root.lang || undefined, { weekday: "short", day: "numeric", month: "short", year: "numeric" });
  }

  function siblingUrl(name) { return scriptUrl.replace(/site\.js(\?.*)?$/, name); }

  function loadScript(name, done, failed) {
    var script = el("script", { src: siblingUrl(name) });
    script.onload = done;
    script.onerror = failed;
    doc.head.appendChild(script);
  }

  /* "Done" and "Review again" in every question's head: toggle buttons (aria-pressed) */
  function markButtons() {
    var questions = Array.prototype.filter.call(doc.querySelectorAll(".question[data-qid]"), function (q) {
      return q.querySelector(".question-head");
    });
    if (!questions.length) return;
    questions.forEach(function (question) {
      var head = question.querySelector(".question-head");
      var line = head.querySelector("p") || head;
      var number = question.getAttribute("data-number") || "";
      var group = el("span", { "class": "practice-marks" });
      [["done", "Done"], ["review", "Review again"]].forEach(function (pair) {
        var button = el("button", { type: "button", "class": "mark-button mark-" + pair[0], "data-mark": pair[0],
                                     "aria-pressed": "false" });
        button.appendChild(doc.createTextNode(pair[1]));
        if (number) button.appendChild(el("span", { "class": "visually-hidden" }, " (question " + number + ")"));
        group.appendChild(button);
      });
      line.appendChild(group);
    });
    doc.addEventListener("click", function (event) {
      var button = event.target.closest && event.target.closest(".mark-button");
      if (!button) return;
      var question = button.closest(".question");
      var field = button.getAttribute("data-mark");
      var marks = changeMark(question.getAttribute("data-qid"), function (mark) { mark[field] = !mark[field]; });
      refreshMarks(marks);
      if (!isShown(button)) keepFocusNear(question);  /* a filter hid the question just marked */
    });
  }

  function keepFocusNear(question) {
    var all = Array.prototype.slice.call(doc.querySelectorAll(".practice-item"));
    var at = all.indexOf(question);
    var rest = all.slice(at + 1).concat(all.slice(0, Math.max(at, 0)));
    var next = rest.filter(isShown)[0];
    var target = next && next.querySelector(".mark-button");
    if (target) target.focus();
    else {
      var status = doc.querySelector(".practice-status");
      if (status) { status.setAttribute("tabindex", "-1"); status.focus(); }
    }
  }

  function refreshMarks(marks) {
    marks = marks || loadMarks();
    Array.prototype.forEach.call(doc.querySelectorAll(".question[data-qid]"), function (question) {
      var mark = markOf(marks, question.getAttribute("data-qid"));
      Array.prototype.forEach.call(question.querySelectorAll(".practice-marks .mark-button"), function (button) {
        button.setAttribute("aria-pressed", String(mark[button.getAttribute("data-mark")] === true));
      });
    });
    refreshMarkCounts(marks);
    refreshStatus();
  }

  /* the data of the progress and quiz pages: practice-index.js, loaded as a classic script */
  function withPracticeIndex(main, then) {
    if (window.BOOKBUILD_PRACTICE) return then(window.BOOKBUILD_PRACTICE);
    loadScript("practice-index.js", function () {
      if (window.BOOKBUILD_PRACTICE) then(window.BOOKBUILD_PRACTICE);
    }, function () {
      var note = main.querySelector(".needs-js");
      if (note) { note.textContent = "The practice data (practice-index.js) could not be loaded."; note.classList.add("failed"); }
    });
    return undefined;
  }

  function showPracticeOnly(main) {
    Array.prototype.forEach.call(main.querySelectorAll(".practice-only"), function (part) { part.hidden = false; });
  }

  /* --- the progress page --- */

  function progressPage(main, data) {
    showPracticeOnly(main);
    var summary = doc.getElementById("progress-summary");

    function fill(row, count) {
      if (!row) return;
      var total = count.done + count.review + count.unseen;
      ["done", "review", "unseen"].forEach(function (name) { row.querySelector(".n-" + name).textContent = String(count[name]); });
      row.querySelector(".n-total").textContent = String(total);
      var pct = function (n) { return total ? (100 * n / total) : 0; };
      row.querySelector(".bar-done").style.width = pct(count.done) + "%";
      row.querySelector(".bar-review").style.width = pct(count.review) + "%";
      row.querySelector(".progress-percent").textContent = Math.round(pct(count.done)) + "% done";
    }

    function render() {
      var marks = loadMarks();
      var at = now();
      var zero = function () { return { done: 0, review: 0, unseen: 0 }; };
      var all = zero(), byTopic = {}, byLevel = {}, due = 0;
      data.questions.forEach(function (q) {
        var mark = markOf(marks, q.id);
        var status = statusOf(mark);
        all[status] += 1;
        (byTopic[q.topic] = byTopic[q.topic] || zero())[status] += 1;
        (byLevel[q.difficulty] = byLevel[q.difficulty] || zero())[status] += 1;
        if (isDue(mark, at)) due += 1;
      });
      Array.prototype.forEach.call(main.querySelectorAll("tr[data-topic]"), function (row) {
        fill(row, byTopic[row.getAttribute("data-topic")] || zero());
      });
      Array.prototype.forEach.call(main.querySelectorAll("tr[data-difficulty]"), function (row) {
        fill(row, byLevel[row.getAttribute("data-difficulty")] || zero());
      });
      Array.prototype.forEach.call(main.querySelectorAll("tr[data-all]"), function (row) { fill(row, all); });
      summary.textContent = "Of " + plural(data.questions.length, "question", "questions") + ": " + all.done + " done, "
        + all.review + " to review, " + all.unseen + " not seen. " + (due === 1 ? "1 is" : due + " are") + " due in the quiz.";
    }

    render();
    window.addEventListener("storage", function (event) { if (event.key === marksKey) render(); });
    transfer(data, render);
  }

  /* export the marks as a JSON file (a Blob link), import one, merging question by question */
  function transfer(data, changed) {
    var exportButton = doc.getElementById("progress-export");
    var input = doc.getElementById("progress-import");
    var status = doc.getElementById("progress-transfer-status");
    if (!exportButton || !input || !status) return;
    exportButton.addEventListener("click", function () {
      var marks = loadMarks();
      var stamp = new Date(now()).toISOString();
      var payload = { format: "bookbuild-progress", version: 1, book: bookId, title: data.title,
                      exported: stamp, questions: marks };
      var name = (data.slug || "book") + "-progress-" + stamp.slice(0, 10) + ".json";
      var url = URL.createObjectURL(new Blob([JSON.stringify(payload, null, 1) + "\n"], { type: "application/json" }));
      var link = el("a", { href: url, download: name, hidden: "hidden" });
      doc.body.appendChild(link);
      link.click();
      link.remove();
      window.setTimeout(function () { URL.revokeObjectURL(url); }, 60 * 1000);
      status.textContent = "Exported the marks of " + plural(Object.keys(marks).length, "question", "questions") + " to " + name + ".";
    });
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      if (!file) return;
      file.text().then(function (text) {
        var payload;
        try { payload = JSON.parse(text); } catch (e) { payload = null; }
        if (!payload || payload.format !== "bookbuild-progress" || !payload.questions || typeof payload.questions !== "object") {
          status.textContent = "“" + file.name + "” is not a progress file exported from this site: nothing was imported.";
          return;
        }
        if (payload.book !== bookId) {
          status.textContent = "“" + file.name + "” holds the progress of another book" + (payload.title ? " (" + payload.title + ")" : "")
            + ": nothing was imported.";
          return;
        }
        var incoming = cleanMarks(payload.questions);
        var marks = loadMarks();
        var taken = 0, kept = 0;
        Object.keys(incoming).forEach(function (qid) {
          if (!marks[qid] || incoming[qid].t > marks[qid].t) { marks[qid] = incoming[qid]; taken += 1; }
          else kept += 1;
        });
        saveMarks(marks);
        status.textContent = "Imported " + file.name + ": " + plural(taken, "question", "questions") + " taken from the file, "
          + kept + " kept as this browser had them (newer or the same).";
        input.value = "";
        changed();
      }, function () { status.textContent = "“" + file.name + "” could not be read."; });
    });
  }

  /* --- the quiz page --- */

  var quizContent = {};
  /* each quiz-<page>.js calls this with its chapter's questions */
  window.bookbuildQuiz = function (chapter) {
    if (!chapter || !Array.isArray(chapter.questions)) return;
    chapter.questions.forEach(function (q) { if (q && typeof q.id === "string") quizContent[q.id] = q; });
  };

  /* the HTML of a prompt or an answer (as the book's own pages hold it) into `box`, inertly */
  function showBookHtml(box, markup) {
    box.textContent = "";
    var parsed = new DOMParser().parseFromString("<!DOCTYPE html><html><body>" + (markup || "") + "</body></html>", "text/html");
    Array.prototype.forEach.call(parsed.body.querySelectorAll("script, iframe, object, embed, frame, base, meta, link"),
      function (node) { node.remove(); });
    Array.prototype.forEach.call(parsed.body.querySelectorAll("*"), function (node) {
      Array.prototype.slice.call(node.attributes).forEach(function (attr) {
        var name = attr.name.toLowerCase();
        if (name === "id" || name.indexOf("on") === 0 || /^\s*javascript\s*:/i.test(attr.value)) node.removeAttribute(attr.name);
      });
    });
    while (parsed.body.firstChild) box.appendChild(doc.adoptNode(parsed.body.firstChild));
  }

  function quizPage(main, data) {
    showPracticeOnly(main);
    var $ = function (id) { return doc.getElementById(id); };
    var form = $("quiz-setup"), choiceStatus = $("quiz-choice-status"), dueStatus = $("quiz-due");
    var card = $("quiz-card"), done = $("quiz-done");
    var revealButton = $("quiz-reveal"), answerBox = $("quiz-answer"), grades = $("quiz-grades");
    var topics = {};
    data.topics.forEach(function (t) { topics[t.id] = t.title; });
    var queue = [], position = 0, revealed = false, results = [];

    function chosen() {
      var picked = function (name) {
        return Array.prototype.filter.call(form.querySelectorAll("input[name='" + name + "']"), function (b) { return b.checked; })
          .map(function (b) { return b.value; });
      };
      var wantTopics = picked("topic"), wantLevels = picked("difficulty");
      return data.questions.filter(function (q) {
        return wantTopics.indexOf(q.topic) >= 0 && wantLevels.indexOf(q.difficulty) >= 0;
      });
    }

    function sizeOf() {
      var n = parseInt($("quiz-size").value, 10);
      return n > 0 ? n : 20;
    }

    /* what a quiz on these questions takes: the due ones (longest overdue first), then new ones */
    function plan(questions) {
      var marks = loadMarks(), at = now();
      var due = [], fresh = [], later = [];
      questions.forEach(function (q, order) {
        var mark = markOf(marks, q.id);
        if (isNew(mark)) fresh.push(q);
        else if (isDue(mark, at)) due.push({ q: q, due: mark.due, order: order });
        else later.push(mark.due);
      });
      due.sort(function (a, b) { return a.due - b.due || a.order - b.order; });
      return { due: due.map(function (d) { return d.q; }), fresh: fresh, next: later.length ? Math.min.apply(null, later) : 0 };
    }

    function describe(p, what) {
      var text = plural(p.due.length, "question", "questions") + " due now and " + p.fresh.length + " new " + what + ".";
      if (p.next) text += " The next to come due is due in " + inWords(p.next - now()) + " (" + dateText(p.next) + ").";
      return text;
    }

    function refreshCounts() {
      var everything = plan(data.questions);
      dueStatus.textContent = "Due now: " + everything.due.length + " of the book’s "
        + plural(data.questions.length, "question", "questions") + " (" + everything.fresh.length + " never graded).";
      var questions = chosen();
      var p = plan(questions);
      var take = Math.min(sizeOf(), p.due.length + p.fresh.length);
      choiceStatus.textContent = questions.length
        ? describe(p, "among the " + plural(questions.length, "chosen question", "chosen questions"))
          + (take ? " This quiz will ask " + take + "." : " Nothing to ask now.")
        : "Choose at least one topic and one difficulty.";
      $("quiz-start").disabled = !take;
    }

    form.addEventListener("change", refreshCounts);
    form.addEventListener("input", refreshCounts);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var p = plan(chosen());
      queue = p.due.concat(p.fresh).slice(0, sizeOf());
      if (!queue.length) { refreshCounts(); return; }
      position = 0;
      results = [];
      var scripts = [];
      queue.forEach(function (q) { if (!quizContent[q.id] && scripts.indexOf(q.script) < 0) scripts.push(q.script); });
      choiceStatus.textContent = "Loading the questions…";
      var waiting = scripts.length;
      var failed = false;
      if (!waiting) return begin();
      scripts.forEach(function (name) {
        loadScript(name, function () { waiting -= 1; if (!waiting && !failed) begin(); },
                   function () { failed = true; choiceStatus.textContent = "The questions (" + name + ") could not be loaded."; });
      });
      return undefined;
    });

    function begin() {
      form.hidden = true;
      done.hidden = true;
      card.hidden = false;
      show();
    }

    function show() {
      var q = queue[position];
      var content = quizContent[q.id] || q;
      revealed = false;
      $("quiz-position").textContent = "Question " + (position + 1) + " of " + queue.length;
      $("quiz-card-title").textContent = "Question " + q.number;
      var meta = $("quiz-meta");
      meta.textContent = "";
      meta.appendChild(el("span", { "class": "difficulty " + q.difficulty }, q.difficulty));
      meta.appendChild(doc.createTextNode(" · " + (topics[q.topic] || q.topic) + (q.kind === "open-ended" ? " · open-ended" : "")));
      showBookHtml($("quiz-prompt"), content.prompt);
      var hint = $("quiz-hint");
      hint.open = false;
      hint.hidden = !content.hint;
      showBookHtml($("quiz-hint-body"), content.hint);
      showBookHtml($("quiz-answer-body"), content.answer);
      if (!content.answer) $("quiz-answer-body").appendChild(el("p", {}, data.answers ? "This question has no answer in this edition." : "This edition publishes no answers."));
      $("quiz-in-book").setAttribute("href", q.url);
      $("quiz-in-book").textContent = "Question " + q.number + " in the book";
      answerBox.hidden = true;
      grades.hidden = true;
      revealButton.parentElement.hidden = false;
      var mark = markOf(loadMarks(), q.id);
      Array.prototype.forEach.call(grades.querySelectorAll("button[data-grade]"), function (button) {
        var next = schedule(Object.assign(blankMark(), mark), button.getAttribute("data-grade"), 0);
        button.querySelector(".grade-when").textContent = "(" + inWords(next.due) + ")";
      });
      $("quiz-card-title").focus();
    }

    function reveal() {
      if (revealed) return;
      revealed = true;
      revealButton.parentElement.hidden = true;
      answerBox.hidden = false;
      grades.hidden = false;
      answerBox.focus();
    }

    function grade(name) {
      if (!revealed) return;
      var q = queue[position];
      var at = now();
      var marks = changeMark(q.id, function (mark) { schedule(mark, name, at); });
      results.push({ q: q, grade: name, due: marks[q.id].due });
      if (name === "again") queue.push(q);
      position += 1;
      if (position < queue.length) show();
      else finish();
    }

    function finish() {
      card.hidden = true;
      done.hidden = false;
      var tally = {};
      GRADES.forEach(function (g) { tally[g] = 0; });
      results.forEach(function (r) { tally[r.grade] += 1; });
      $("quiz-done-summary").textContent = results.length
        ? "You graded " + plural(results.length, "answer", "answers") + ": " + GRADES.map(function (g) { return tally[g] + " " + g; }).join(", ") + "."
        : "You ended the quiz before grading an answer.";
      var list = $("quiz-done-list");
      list.textContent = "";
      var last = {};
      results.forEach(function (r) { last[r.q.id] = r; });
      Object.keys(last).forEach(function (qid) {
        var r = last[qid];
        var item = el("li", {});
        item.appendChild(el("a", { href: r.q.url }, "Question " + r.q.number));
        item.appendChild(doc.createTextNode(": " + r.grade + ", due again in " + inWords(r.due - now()) + " (" + dateText(r.due) + ")"));
        list.appendChild(item);
      });
      refreshCounts();
      $("quiz-done-title").focus();
    }

    revealButton.addEventListener("click", reveal);
    grades.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-grade]");
      if (button) grade(button.getAttribute("data-grade"));
    });
    $("quiz-stop").addEventListener("click", finish);
    $("quiz-again").addEventListener("click", function () {
      done.hidden = true;
      form.hidden = false;
      refreshCounts();
      $("quiz-start").focus();
    });
    /* the keys: Space or Enter shows the answer, 1-4 grade it (as in Anki), Escape ends the quiz */
    doc.addEventListener("keydown", function (event) {
      if (card.hidden || event.ctrlKey || event.metaKey || event.altKey) return;
      var t = event.target;
      if (t && t.closest && t.closest("input, select, textarea, [contenteditable]")) return;
      if (!revealed && (event.key === " " || event.key === "Enter")) {
        if (t && t.closest && t.closest("a, button, summary")) return;  /* these act on their own */
        event.preventDefault();
        reveal();
      } else if (revealed && /^[1-4]$/.test(event.key)) {
        event.preventDefault();
        grade(GRADES[Number(event.key) - 1]);
      } else if (event.key === "Escape") {
        event.preventDefault();
        finish();
      }
    });
    window.addEventListener("storage", function (event) { if (event.key === marksKey && card.hidden) refreshCounts(); });
    refreshCounts();
  }

  function practicePages() {
    var links = doc.querySelector(".practice-links");
    if (links) links.hidden = false;
    var main = doc.querySelector("main[data-practice]");
    if (!main) return;
    var kind = main.getAttribute("data-practice");
    withPracticeIndex(main, function (data) {
      if (kind === "progress") progressPage(main, data);
      else if (kind === "quiz") quizPage(main, data);
    });
  }

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
    markButtons();
    refreshMarks();
    window.addEventListener("storage", function (event) { if (event.key === marksKey) refreshMarks(); });
    practicePages();
    setupSearch();
    revealTarget();
    window.addEventListener("hashchange", revealTarget);
  }

  if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", start);
  else start();
})();
