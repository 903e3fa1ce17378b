// simpleSENDER: the browser's time zone, for the pages that ask for it (sign-up
// and profile). Without this file those pages work as before: the zone stays
// as typed, or UTC.
//
//  - input[data-browser-tz] gets the browser's IANA zone name as its value
//    (the hidden field of the sign-up form).
//  - [data-tz-offer][data-current="Zone"] is shown when the browser's zone
//    differs from the saved one; its [data-tz-name] elements get the name
//    and its input[name=timezone] the value (the profile's "use it" form).
(function () {
	"use strict";

	function browserZone() {
		try {
			return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
		} catch (e) {
			return "";
		}
	}

	function start() {
		var zone = browserZone();
		if (!zone) {
			return;
		}
		document.querySelectorAll("input[data-browser-tz]").forEach(function (input) {
			if (!input.value) {
				input.value = zone;
			}
		});
		document.querySelectorAll("[data-tz-offer]").forEach(function (offer) {
			var current = offer.getAttribute("data-current") || "UTC";
			if (current === zone) {
				return;
			}
			offer.querySelectorAll("[data-tz-name]").forEach(function (el) {
				el.textContent = zone;
			});
			offer.querySelectorAll("input[name=timezone]").forEach(function (input) {
				input.value = zone;
			});
			offer.hidden = false;
		});
	}

	if (document.readyState === "loading") {
		document.addEventListener("DOMContentLoaded", start);
	} else {
		start();
	}
})();
