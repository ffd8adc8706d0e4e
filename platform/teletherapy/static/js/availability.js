/* The availability editor (/practice/availability).
 *
 * Progressive enhancement: without this script the page is a form of lines (one line per
 * window of hours) and that form is the whole editor. With it, "Add a line" copies a line, and
 * a week grid (days x hours) is drawn from the weekly lines: blocks are added, moved and removed
 * with the mouse, a finger or the keyboard, and every change is written back into the same
 * form fields, so the page submits exactly what the lines say. Labels come from data-
 * attributes the template renders (translated), never from this file.
 */
(function () {
  "use strict";

  var QUARTER = 15;
  var DAY_END = 24 * 60;
  var root = document.getElementById("week-editor");
  var next = root ? parseInt(root.getAttribute("data-next-index"), 10) || 1000 : 1000;

  // ---- the lines: "Add a line" copies the last line with a fresh index ----------------------
  function addRow(section) {
    var body = document.getElementById(section + "-rows");
    var last = body && body.rows[body.rows.length - 1];
    if (!last) { return null; }
    var copy = last.cloneNode(true);
    var n = next++;
    copy.hidden = false;
    copy.classList.remove("has-error");
    copy.querySelectorAll(".error").forEach(function (el) { el.remove(); });
    copy.querySelectorAll("[name], [id], [for]").forEach(function (el) {
      ["name", "id", "for"].forEach(function (attr) {
        var value = el.getAttribute(attr);
        if (value) { el.setAttribute(attr, value.replace(/^(weekly|override)-\d+-/, "$1-" + n + "-")); }
      });
      el.removeAttribute("aria-invalid");
      el.removeAttribute("aria-describedby");
      if (el.type === "checkbox") { el.checked = false; }
      else if (el.tagName === "INPUT") { el.value = ""; }
    });
    body.appendChild(copy);
    return copy;
  }

  document.querySelectorAll("[data-add-row]").forEach(function (button) {
    button.addEventListener("click", function () {
      var row = addRow(button.getAttribute("data-add-row"));
      var first = row && row.querySelector("select, input");
      if (first) { first.focus(); }
    });
  });

  if (!root) { return; }
  var grid = document.getElementById("week-editor-grid");
  var status = document.getElementById("week-editor-status");
  var settingPicker = document.getElementById("week-editor-setting");
  var body = document.getElementById("weekly-rows");
  var problems = document.getElementById("week-editor-problems");
  if (!grid || !body || !settingPicker) { return; }
  var phone = window.matchMedia("(max-width: 40rem)");

  function label(name, values) {
    var text = root.getAttribute("data-label-" + name) || "";
    return text.replace(/\{(\w+)\}/g, function (all, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : all;
    });
  }

  function field(tr, name) { return tr.querySelector("[name$='-" + name + "']"); }
  function value(tr, name) { var el = field(tr, name); return el ? el.value.trim() : ""; }
  function prefix(tr) { var el = field(tr, "start"); return el ? el.name.replace(/-start$/, "") : ""; }
  function removed(tr) { var box = field(tr, "remove"); return tr.hidden || !!(box && box.checked); }

  function minutes(text, isEnd) {
    var m = /^(\d{1,2}):(\d{2})$/.exec(text || "");
    if (!m) { return null; }
    var total = parseInt(m[1], 10) * 60 + parseInt(m[2], 10);
    if (total > DAY_END) { return null; }
    return isEnd && total === 0 ? DAY_END : total;
  }
  function clock(total) {
    var t = total % DAY_END;
    var h = Math.floor(t / 60);
    var m = t % 60;
    return (h < 10 ? "0" : "") + h + ":" + (m < 10 ? "0" : "") + m;
  }

  var dayNames = (function () {
    var select = body.querySelector("select[name$='-weekday']");
    return select ? Array.prototype.map.call(select.options, function (o) { return o.text; }) : [];
  })();
  var settingNames = {};
  Array.prototype.forEach.call(settingPicker.options, function (o) { settingNames[o.value] = o.text; });

  function blocks() {
    var out = [];
    Array.prototype.forEach.call(body.rows, function (tr) {
      if (removed(tr)) { return; }
      var day = parseInt(value(tr, "weekday"), 10);
      var start = minutes(value(tr, "start"), false);
      var end = minutes(value(tr, "end"), true);
      if (isNaN(day) || day < 0 || day > 6 || start === null || end === null) { return; }
      out.push({ tr: tr, row: prefix(tr), day: day, start: start, end: Math.max(end, start + QUARTER),
                 setting: value(tr, "setting"), invalid: end <= start });
    });
    return out;
  }

  function words(b) {
    return { day: dayNames[b.day] || "", start: clock(b.start), end: clock(b.end),
             setting: settingNames[b.setting] || b.setting };
  }

  function write(tr, day, start, end, setting) {
    field(tr, "weekday").value = String(day);
    field(tr, "start").value = clock(start);
    field(tr, "end").value = clock(end);
    if (setting) { field(tr, "setting").value = setting; }
  }

  function announce(text) {
    status.textContent = "";
    window.setTimeout(function () { status.textContent = text; }, 50);
  }

  // ---- drawing ---------------------------------------------------------------------------
  var firstHour = parseInt(root.getAttribute("data-first-hour"), 10);
  var lastHour = parseInt(root.getAttribute("data-last-hour"), 10);

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text) { node.textContent = text; }
    return node;
  }

  function range(all) {
    var low = firstHour;
    var high = lastHour;
    all.forEach(function (b) {
      low = Math.min(low, Math.floor(b.start / 60));
      high = Math.max(high, Math.ceil(b.end / 60));
    });
    return { low: low, high: Math.min(high, 24) };
  }

  function rowClass(total, low) { return "r-" + ((total - low * 60) / QUARTER + 1); }
  function spanClass(start, end) { return "s-" + Math.max(1, Math.round((end - start) / QUARTER)); }

  function render(focusRow) {
    var all = blocks();
    var span = range(all);
    grid.textContent = "";

    var times = el("div", "ed-times");
    times.setAttribute("aria-hidden", "true");
    times.appendChild(el("div", "ed-head"));
    var timeTrack = el("div", "ed-track");
    for (var h = span.low; h < span.high; h++) {
      timeTrack.appendChild(el("div", "ed-hour-label " + rowClass(h * 60, span.low) + " s-4", clock(h * 60)));
    }
    times.appendChild(timeTrack);
    grid.appendChild(times);

    dayNames.forEach(function (name, day) {
      var column = el("div", "ed-day");
      column.appendChild(el("h4", "ed-head", name));
      var track = el("div", "ed-track");
      track.setAttribute("data-day", String(day));
      for (var hour = span.low; hour < span.high; hour++) {
        var cell = el("div", "ed-cell " + rowClass(hour * 60, span.low) + " s-4");
        cell.setAttribute("data-minute", String(hour * 60));
        cell.setAttribute("aria-hidden", "true");
        track.appendChild(cell);
      }
      var reach = -1;
      all.filter(function (b) { return b.day === day; })
        .sort(function (a, b) { return a.start - b.start; })
        .forEach(function (b) {
          var box = drawBlock(b, span.low);
          if (b.start < reach) { box.classList.add("ed-overlap"); }  // shown beside, not over
          reach = Math.max(reach, b.end);
          track.appendChild(box);
        });
      column.appendChild(track);
      var add = el("button", "button small ed-add");
      add.type = "button";
      add.setAttribute("data-day", String(day));
      var plus = el("span", "ed-plus", "+");
      plus.setAttribute("aria-hidden", "true");
      add.appendChild(plus);
      add.appendChild(el("span", "ed-add-text", label("add", { day: name })));
      column.appendChild(add);
      grid.appendChild(column);
    });
    grid.setAttribute("data-low", String(span.low));
    listProblems(all);

    if (focusRow) {
      var target = grid.querySelector(".ed-block[data-row='" + focusRow + "'] .ed-move");
      if (target) { target.focus(); }
    }
  }

  function drawBlock(b, low) {
    var w = words(b);
    var box = el("div", "ed-block " + (b.setting || "online") + " " + rowClass(b.start, low) + " " + spanClass(b.start, b.end));
    box.setAttribute("data-row", b.row);
    var move = el("button", "ed-move");
    move.type = "button";
    move.setAttribute("aria-label", label("block", w));
    var time = el("span", "ed-time", w.start + "–" + w.end);
    move.appendChild(time);
    move.appendChild(el("span", "ed-setting", w.setting));
    var described = ["week-editor-help"];
    if (b.tr.classList.contains("has-error") || b.invalid) {
      box.classList.add("has-error");
      var flag = el("span", "ed-flag", "!");
      flag.setAttribute("title", label("problem", {}));
      flag.setAttribute("aria-hidden", "true");
      time.insertBefore(flag, time.firstChild);
      var messages = [];
      b.tr.querySelectorAll(".error[id]").forEach(function (e) {
        described.unshift(e.id);
        messages.push(e.textContent.trim());
      });
      box.setAttribute("title", messages.join(" ") || label("problem", {}));
    }
    move.setAttribute("aria-describedby", described.join(" "));
    box.appendChild(move);
    var remove = el("button", "ed-remove", "×");
    remove.type = "button";
    remove.setAttribute("aria-label", label("remove", w));
    box.appendChild(remove);
    return box;
  }

  // Each block at fault, with the message of its line, under the grid (the grid keeps its size).
  function listProblems(all) {
    if (!problems) { return; }
    problems.textContent = "";
    all.forEach(function (b) {
      var texts = Array.prototype.map.call(b.tr.querySelectorAll(".error"), function (e) {
        return e.textContent.trim();
      });
      if (!texts.length) { return; }
      var item = el("li");
      var go = el("button", "link-button", label("block", words(b)) + ": " + texts.join(" "));
      go.type = "button";
      go.addEventListener("click", function () { edit(b.row); });
      item.appendChild(go);
      problems.appendChild(item);
    });
    problems.hidden = !problems.childNodes.length;
  }

  // ---- changes ---------------------------------------------------------------------------
  function find(row) {
    var match = null;
    blocks().forEach(function (b) { if (b.row === row) { match = b; } });
    return match;
  }

  function overlaps(day, start, end, except) {
    return blocks().some(function (b) {
      return b.day === day && b.row !== except && b.start < end && start < b.end;
    });
  }

  function freeRow() {
    var found = null;
    Array.prototype.forEach.call(body.rows, function (tr) {
      if (!found && !removed(tr) && !value(tr, "start") && !value(tr, "end")) { found = tr; }
    });
    return found || addRow("weekly");
  }

  function add(day, start, end) {
    var tr = freeRow();
    if (!tr) { return; }
    write(tr, day, start, end, settingPicker.value);
    var b = find(prefix(tr));
    render(prefix(tr));
    if (b) { announce(label("added", words(b))); }
  }

  function addSomewhere(day) {
    var candidates = [];
    for (var h = 9; h < 24; h++) { candidates.push(h * 60); }
    for (var e = 8; e >= 0; e--) { candidates.push(e * 60); }
    for (var i = 0; i < candidates.length; i++) {
      if (!overlaps(day, candidates[i], candidates[i] + 60, null)) {
        add(day, candidates[i], candidates[i] + 60);
        return;
      }
    }
    announce(label("full", { day: dayNames[day] || "" }));
  }

  function change(row, day, start, end) {
    var b = find(row);
    if (!b) { return; }
    write(b.tr, day, start, end, null);
    render(row);
    var now = find(row);
    if (now) { announce(label("moved", words(now))); }
  }

  function remove(row) {
    var b = find(row);
    if (!b) { return; }
    var w = words(b);
    var box = field(b.tr, "remove");
    if (box) { box.checked = true; }
    b.tr.hidden = true;
    render(null);
    var addButton = grid.querySelector(".ed-add[data-day='" + b.day + "']");
    if (addButton) { addButton.focus(); }
    announce(label("removed", w));
  }

  function edit(row) {
    var b = find(row);
    var target = b && field(b.tr, "start");
    if (target) { target.focus(); target.scrollIntoView({ block: "center" }); }
  }

  grid.addEventListener("click", function (event) {
    var target = event.target;
    var addButton = target.closest(".ed-add");
    if (addButton) { addSomewhere(parseInt(addButton.getAttribute("data-day"), 10)); return; }
    var removeButton = target.closest(".ed-remove");
    if (removeButton) { remove(removeButton.parentNode.getAttribute("data-row")); return; }
    var moveButton = target.closest(".ed-move");
    if (moveButton) {
      if (dragged) { dragged = false; return; }
      edit(moveButton.parentNode.getAttribute("data-row"));
      return;
    }
    var cell = target.closest(".ed-cell");
    if (cell) {
      var day = parseInt(cell.parentNode.getAttribute("data-day"), 10);
      var start = parseInt(cell.getAttribute("data-minute"), 10);
      var end = start + 60;
      blocks().forEach(function (b) {  // the free part of the hour that was clicked
        if (b.day === day && b.start <= start && b.end > start) { start = b.end; }
      });
      blocks().forEach(function (b) { if (b.day === day && b.start >= start && b.start < end) { end = b.start; } });
      if (end > start && !overlaps(day, start, end, null)) { add(day, start, end); }
    }
  });

  grid.addEventListener("keydown", function (event) {
    var moveButton = event.target.closest(".ed-move");
    if (!moveButton) { return; }
    var row = moveButton.parentNode.getAttribute("data-row");
    var b = find(row);
    if (!b) { return; }
    var day = b.day;
    var start = b.start;
    var end = b.end;
    var length = end - start;
    switch (event.key) {
      case "ArrowUp":
        if (event.shiftKey) { end = Math.max(start + QUARTER, end - QUARTER); }
        else { start = Math.max(0, start - QUARTER); end = start + length; }
        break;
      case "ArrowDown":
        if (event.shiftKey) { end = Math.min(DAY_END, end + QUARTER); }
        else { start = Math.min(DAY_END - length, start + QUARTER); end = start + length; }
        break;
      case "ArrowLeft": day = Math.max(0, day - 1); break;
      case "ArrowRight": day = Math.min(6, day + 1); break;
      case "Delete":
      case "Backspace":
        event.preventDefault();
        remove(row);
        return;
      default:
        return;
    }
    event.preventDefault();
    if (day !== b.day || start !== b.start || end !== b.end) { change(row, day, start, end); }
  });

  // Dragging a block (mouse or finger) on the wide layout: a quarter hour at a time.
  var drag = null;
  var dragged = false;
  grid.addEventListener("pointerdown", function (event) {
    var moveButton = event.target.closest(".ed-move");
    if (!moveButton || event.button !== 0 || phone.matches) { return; }
    var box = moveButton.parentNode;
    var b = find(box.getAttribute("data-row"));
    var cell = grid.querySelector(".ed-cell");
    if (!b || !cell) { return; }
    drag = { box: box, b: b, x: event.clientX, y: event.clientY, day: b.day, start: b.start,
             quarter: cell.getBoundingClientRect().height / 4, moved: false };
  });
  document.addEventListener("pointermove", function (event) {
    if (!drag) { return; }
    if (!drag.moved && Math.abs(event.clientX - drag.x) + Math.abs(event.clientY - drag.y) < 6) { return; }
    drag.moved = true;
    event.preventDefault();
    var length = drag.b.end - drag.b.start;
    var steps = Math.round((event.clientY - drag.y) / drag.quarter);
    drag.start = Math.min(DAY_END - length, Math.max(0, drag.b.start + steps * QUARTER));
    var low = parseInt(grid.getAttribute("data-low"), 10);
    drag.start = Math.max(drag.start, low * 60);
    grid.querySelectorAll(".ed-day .ed-track").forEach(function (track) {
      var rect = track.getBoundingClientRect();
      if (event.clientX >= rect.left && event.clientX < rect.right) {
        drag.day = parseInt(track.getAttribute("data-day"), 10);
        if (drag.box.parentNode !== track) { track.appendChild(drag.box); }
      }
    });
    drag.box.className = drag.box.className.replace(/\br-\d+\b/, rowClass(drag.start, low));
    drag.box.classList.add("dragging");
  });
  document.addEventListener("pointerup", function () {
    if (!drag) { return; }
    var d = drag;
    drag = null;
    if (!d.moved) { return; }
    dragged = true;
    window.setTimeout(function () { dragged = false; }, 0);
    change(d.b.row, d.day, d.start, d.start + (d.b.end - d.b.start));
  });

  // Typing in a line redraws the grid (the line is the block's small form).
  body.addEventListener("change", function () { render(null); });
  body.addEventListener("input", function () { render(null); });

  var picture = document.querySelector(".week-picture");
  if (picture) { picture.hidden = true; }
  root.hidden = false;
  render(null);
})();
