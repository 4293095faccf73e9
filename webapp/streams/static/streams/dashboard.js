// The dashboard: poll streams/status.json every 5 s and update each card's state, error,
// highlight count and "last highlight ... ago" in place, so a streamer can leave it open.
// Server text goes in through textContent only.
"use strict";
(() => {
  const POLL_MS = 5000;
  const root = document.getElementById("streams");
  if (!root || !root.querySelector("[data-stream-id]")) return;
  const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  const UNITS = [["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];

  function ago(iso) {
    const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
    for (const [unit, size] of UNITS) {
      if (Math.abs(seconds) >= size || unit === "second") return relative.format(Math.round(seconds / size), unit);
    }
    return "";
  }

  function renderCard(card, s) {
    const state = card.querySelector(".state");
    state.textContent = s.state_label;
    state.className = `state state-${s.state}`;
    const help = card.querySelector(".state-help");
    help.textContent = s.state_help;
    help.hidden = s.state !== "waiting";
    const error = card.querySelector(".error-text");
    error.textContent = s.last_error || "";
    error.hidden = !s.last_error;
    const quiet = card.querySelector(".quiet-note");
    quiet.textContent = s.quiet_note || "";
    quiet.hidden = !s.quiet_note;
    card.querySelector(".highlight-count").textContent =
      `${s.highlight_count} highlight${s.highlight_count === 1 ? "" : "s"}`;
    const last = card.querySelector(".last-highlight");
    last.hidden = !s.last_highlight;
    if (s.last_highlight) {
      const time = last.querySelector("time");
      time.dateTime = s.last_highlight;
      time.textContent = ago(s.last_highlight);
    }
  }

  async function poll() {
    const note = document.getElementById("dashboard-note");
    try {
      const response = await fetch(root.dataset.statusUrl, {
        credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" },
      });
      if (!response.ok || !(response.headers.get("Content-Type") || "").startsWith("application/json")) {
        note.textContent = "Could not refresh (are you still logged in?). Retrying…";
      } else {
        const { streams } = await response.json();
        for (const s of streams) {
          const card = root.querySelector(`[data-stream-id="${s.id}"]`);
          if (card) renderCard(card, s);
        }
        note.textContent = "";
      }
    } catch (err) {
      note.textContent = "Connection lost. Retrying…";
    }
    window.setTimeout(poll, POLL_MS);
  }

  window.setTimeout(poll, POLL_MS);
})();
