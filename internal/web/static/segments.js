// The segment editor: each row shows the operators and the input its field
// takes, "Add a condition" adds a row in place, and the number of matching
// recipients follows every change (POST /segments/count, debounced). The
// form works without this script: its buttons post it back.
(function () {
  "use strict";
  var form = document.querySelector("[data-segment-editor]");
  if (!form) return;
  var ops = JSON.parse(form.getAttribute("data-ops") || "{}");
  var rows = form.querySelector("[data-rows]");
  var out = form.querySelector("[data-count]");
  var countButton = form.querySelector("[data-count-button]");
  if (countButton) countButton.hidden = true;

  function needsValue(field, op) {
    return field !== "history" && op !== "empty" && op !== "not_empty";
  }

  function setRow(row) {
    var field = row.querySelector("[data-field]").value;
    var opSel = row.querySelector("[data-op]");
    var current = opSel.value;
    var allowed = ops[field] || [];
    opSel.textContent = "";
    allowed.forEach(function (c) {
      var o = document.createElement("option");
      o.value = c.Value;
      o.textContent = c.Label;
      if (c.Value === current) o.selected = true;
      opSel.appendChild(o);
    });
    var op = opSel.value;
    row.querySelector("[data-input=value]").hidden = !field || field === "list" || !needsValue(field, op);
    row.querySelector("[data-input=list]").hidden = field !== "list";
    row.querySelector("[data-input=mailing]").hidden = field !== "history";
    var value = row.querySelector("[data-input=value] input");
    value.type = field === "created" ? "date" : "text";
  }

  function allRows() { return rows.querySelectorAll("[data-row]"); }
  Array.prototype.forEach.call(allRows(), setRow);

  var timer = null;
  var seq = 0;
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(count, 350);
  }
  function count() {
    var n = ++seq;
    var body = new URLSearchParams(new FormData(form));
    body.delete("do");
    fetch("/segments/count", {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (r) { return r.json(); }).then(function (res) {
      if (n !== seq) return; // an answer to an older state
      out.textContent = "";
      var el = document.createElement(res.error ? "span" : "strong");
      if (res.error) el.className = "field-error";
      el.textContent = res.error || res.text;
      out.appendChild(el);
    }).catch(function () { if (countButton) countButton.hidden = false; });
  }

  form.addEventListener("change", function (e) {
    var row = e.target.closest("[data-row]");
    if (row && e.target.matches("[data-field], [data-op]")) setRow(row);
    schedule();
  });
  form.addEventListener("input", function (e) {
    if (e.target.name === "cond_value" || e.target.name === "name") schedule();
  });
  var add = form.querySelector("[data-add-row]");
  if (add) {
    add.addEventListener("click", function (e) {
      e.preventDefault();
      var last = allRows();
      var row = last[last.length - 1].cloneNode(true);
      row.querySelector("[data-input=value] input").value = "";
      row.querySelectorAll("select").forEach(function (s) { s.selectedIndex = 0; });
      row.querySelector("[data-field]").value = "email";
      var err = row.querySelector(".field-error");
      if (err) err.remove();
      rows.appendChild(row);
      setRow(row);
      row.querySelector("[data-field]").focus();
    });
  }
  schedule();
})();
