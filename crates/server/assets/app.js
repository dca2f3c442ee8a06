// Gatehouse UI: the only script. It sends "Fetch data" to the server, which calls the
// protected route with the session's token; the token itself never reaches the browser.
"use strict";
(function () {
  const button = document.getElementById("fetch-data");
  if (!button) return;
  const status = document.getElementById("fetch-status");
  const result = document.getElementById("fetch-result");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  button.addEventListener("click", async function () {
    button.disabled = true;
    status.textContent = "Calling " + button.dataset.path + " …";
    status.className = "result-status";
    try {
      const response = await fetch("/ui/fetch", {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf, "Accept": "application/json" },
      });
      if (response.status === 401 && response.headers.get("X-Gatehouse-Signed-Out")) {
        window.location.assign("/ui/login");
        return;
      }
      const answer = await response.json();
      const allowed = answer.status >= 200 && answer.status < 300;
      status.textContent = (allowed ? "Allowed" : "Refused") + " — HTTP " + answer.status;
      status.className = "result-status " + (allowed ? "ok" : "bad");
      status.dataset.outcome = allowed ? "allowed" : "refused";
      result.textContent = JSON.stringify(answer.body, null, 2);
      result.hidden = false;
    } catch (error) {
      status.textContent = "The request failed: " + error.message;
      status.className = "result-status bad";
      status.dataset.outcome = "error";
    } finally {
      button.disabled = false;
    }
  });
})();
