// The login form: says when the last token was wrong, and keeps the page asked for (?next=).
"use strict";

(function () {
  const params = new URLSearchParams(location.search);
  if (params.get("error")) document.getElementById("error").classList.remove("hidden");
  const next = params.get("next");
  // Only a path on this site: never an address elsewhere (//host or a scheme).
  if (next && next.startsWith("/") && !next.startsWith("//")) {
    document.getElementById("next").value = next;
  }
})();
