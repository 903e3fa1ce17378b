// simpleSENDER: small progressive enhancements. Every page works without this
// file; load it with <script src="..." defer>. No inline scripts are needed.
//
//  - data-confirm="Question?" on a form, a submit button or a link asks for
//    confirmation before submitting or following it.
//  - .flash-success and .flash-info messages fade out after a few seconds
//    (errors stay until the user moves on). Hovering or focusing one keeps it.
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

	if (document.readyState === "loading") {
		document.addEventListener("DOMContentLoaded", function () { scan(document); });
	} else {
		scan(document);
	}
	// Content swapped in by htmx gets the same treatment.
	document.addEventListener("htmx:load", function (event) { scan(event.target); });
})();
