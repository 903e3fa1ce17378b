// simpleSENDER: small progressive enhancements. Every page works without this
// file; load it with <script src="..." defer>. No inline scripts are needed.
//
//  - the mailing form's "N selected" ([data-selected-count]) follows the
//    recipient boxes as they are ticked.
//  - data-confirm="Question?" on a form, a submit button or a link asks for
//    confirmation before submitting or following it.
//  - .flash-success and .flash-info messages fade out after a few seconds
//    (errors stay until the user moves on). Hovering or focusing one keeps it.
//  - #progress[data-progress-url][data-running="true"] (the mailing page while
//    a send runs, the page of a CSV import while it runs) polls its JSON every second and updates the <progress> bar,
//    the [data-count] figures, the [data-status-label] and every [data-text]
//    figure (from the JSON's "text" map) together; when the send ends
//    it reloads the page once, to show the final state and buttons. Without
//    this file the page refreshes itself (<noscript><meta refresh>).
//    With data-watch="true" instead (a mailing planned to start within the
//    hour), it asks every 5 s and reloads the page when the send starts.
//  - input[data-check-all="name"] ticks every box of that name in its form.
//  - the navbar's menu on a phone closes on a click outside it or Escape.
(function () {
	"use strict";

	var FLASH_DELAY_MS = 6000;

	document.addEventListener("submit", function (event) {
		var form = event.target;
		var submitter = event.submitter;
		var message = (submitter && submitter.getAttribute("data-confirm")) ||
			form.getAttribute("data-confirm");
		if (message && !window.confirm(message)) {
			event.preventDefault();
			event.stopImmediatePropagation();
		}
	}, true);

	document.addEventListener("click", function (event) {
		var link = event.target.closest && event.target.closest("a[data-confirm]");
		if (link && !window.confirm(link.getAttribute("data-confirm"))) {
			event.preventDefault();
			event.stopImmediatePropagation();
		}
	}, true);

	function dismissLater(flash) {
		if (flash.hasAttribute("data-dismiss-scheduled")) {
			return;
		}
		flash.setAttribute("data-dismiss-scheduled", "");
		var paused = false;
		flash.addEventListener("mouseenter", function () { paused = true; });
		flash.addEventListener("focusin", function () { paused = true; });
		window.setTimeout(function () {
			if (paused) {
				return;
			}
			flash.classList.add("is-leaving");
			window.setTimeout(function () { flash.remove(); }, 500);
		}, FLASH_DELAY_MS);
	}

	function scan(root) {
		if (!root || !root.querySelectorAll) {
			return;
		}
		if (root.matches && root.matches(".flash-success, .flash-info")) {
			dismissLater(root);
		}
		var flashes = root.querySelectorAll(".flash-success, .flash-info");
		for (var i = 0; i < flashes.length; i++) {
			dismissLater(flashes[i]);
		}
	}

	var POLL_MS = 1000;
	// A page that waits for a planned start (data-watch) asks less often,
	// and for two hours at most.
	var WATCH_MS = 5000;
	var WATCH_FOR_MS = 2 * 60 * 60 * 1000;

	function pollProgress(box) {
		var url = box.getAttribute("data-progress-url");
		var running = box.getAttribute("data-running") === "true";
		var watching = !running && box.getAttribute("data-watch") === "true";
		var since = Date.now();
		if (!url || !(running || watching) || !window.fetch) {
			return;
		}
		var bar = box.querySelector("progress");
		var failures = 0;
		function show(p) {
			var counts = box.querySelectorAll("[data-count]");
			for (var i = 0; i < counts.length; i++) {
				var v = p[counts[i].getAttribute("data-count")];
				if (typeof v === "number") {
					counts[i].textContent = String(v);
				}
			}
			if (bar && p.total > 0) {
				bar.max = p.total;
				bar.value = p.done;
			}
			var labels = document.querySelectorAll("[data-status-label]");
			for (var j = 0; j < labels.length; j++) {
				labels[j].textContent = p.status_label;
			}
			// Every other moving figure of the page, in words: the status
			// detail, the times, why the send waits. An empty one hides.
			var texts = document.querySelectorAll("[data-text]");
			for (var k = 0; p.text && k < texts.length; k++) {
				var t = p.text[texts[k].getAttribute("data-text")];
				if (typeof t === "string") {
					texts[k].textContent = t;
					texts[k].hidden = t === "";
				}
			}
		}
		function tick() {
			window.fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
				.then(function (r) {
					var type = r.headers.get("Content-Type") || "";
					if (!r.ok || type.indexOf("application/json") !== 0) {
						throw new Error("progress: " + r.status);
					}
					return r.json();
				})
				.then(function (p) {
					failures = 0;
					if (watching) {
						// The planned start came (the send may even be over
						// already, so the detail tells): show the page as it is.
						var detail = document.querySelector('[data-text="detail"]');
						if (p.running || (p.text && detail && p.text.detail !== detail.textContent)) {
							window.location.reload();
						} else if (Date.now() - since < WATCH_FOR_MS) {
							window.setTimeout(tick, WATCH_MS);
						}
						return;
					}
					show(p);
					if (!p.running) {
						window.location.reload();
						return;
					}
					window.setTimeout(tick, POLL_MS);
				})
				.catch(function () {
					// Logged out, gone or the server restarts: back off, then give up.
					failures++;
					if (failures < 10) {
						window.setTimeout(tick, POLL_MS * 5);
					}
				});
		}
		window.setTimeout(tick, watching ? WATCH_MS : POLL_MS);
	}

	// The "N selected" label of the mailing form follows the boxes as they
	// are ticked. The server writes samples of the label ([count, text]
	// pairs) and how many chosen recipients are not listed; the sample of
	// the same plural form as the count gives the words.
	function countSelected(label) {
		var form = label.closest("form");
		var samples;
		try {
			samples = JSON.parse(label.getAttribute("data-forms") || "[]");
		} catch (e) {
			return;
		}
		if (!form || !samples.length || !window.Intl || !Intl.PluralRules) {
			return;
		}
		var rules = new Intl.PluralRules(document.documentElement.lang || "en");
		var hidden = parseInt(label.getAttribute("data-hidden-count") || "0", 10) || 0;
		function update() {
			var n = hidden + form.querySelectorAll('input[type="checkbox"][name="recipient_ids"]:checked').length;
			var wanted = rules.select(n);
			for (var i = 0; i < samples.length; i++) {
				if (rules.select(samples[i][0]) === wanted) {
					label.textContent = String(samples[i][1]).replace(String(samples[i][0]), String(n));
					return;
				}
			}
		}
		form.addEventListener("change", function (event) {
			if (event.target && event.target.name === "recipient_ids") {
				update();
			}
		});
	}

	// A "select all on this page" box: [data-check-all="name"] inside a
	// form ticks the boxes named name of that form (those inside it or tied
	// to it by form=). It stays hidden without this file.
	function checkAll(box) {
		var form = box.form;
		var name = box.getAttribute("data-check-all");
		var label = box.closest("[hidden]");
		if (!form || !name) {
			return;
		}
		if (label) {
			label.hidden = false;
		}
		function boxes() {
			return Array.prototype.filter.call(form.elements, function (el) {
				return el.type === "checkbox" && el.name === name;
			});
		}
		box.addEventListener("change", function () {
			boxes().forEach(function (el) { el.checked = box.checked; });
		});
		form.addEventListener("change", function (event) {
			if (event.target !== box && event.target.name === name) {
				var all = boxes();
				box.checked = all.length > 0 && all.every(function (el) { return el.checked; });
			}
		});
	}

	// The navbar's menu on a phone (<details class="nav-menu">) closes on a
	// click outside it and on Escape, as menus do.
	document.addEventListener("click", function (event) {
		var menu = document.querySelector(".nav-menu[open]");
		if (menu && !menu.contains(event.target)) {
			menu.open = false;
		}
	});
	document.addEventListener("keydown", function (event) {
		var menu = document.querySelector(".nav-menu[open]");
		if (menu && event.key === "Escape") {
			menu.open = false;
			menu.querySelector("summary").focus();
		}
	});

	function start() {
		scan(document);
		document.querySelectorAll("input[data-check-all]").forEach(checkAll);
		var selected = document.querySelector("[data-selected-count][data-forms]");
		if (selected) {
			countSelected(selected);
		}
		var box = document.getElementById("progress");
		if (box) {
			pollProgress(box);
		}
	}

	if (document.readyState === "loading") {
		document.addEventListener("DOMContentLoaded", start);
	} else {
		start();
	}
	// Content swapped in by htmx gets the same treatment.
	document.addEventListener("htmx:load", function (event) { scan(event.target); });
})();
