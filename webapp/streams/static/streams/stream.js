// The stream page: poll status.json every 3 s, update the state, insert new highlight cards
// and redraw the score timeline. Everything from the server goes in through textContent and
// attributes, never innerHTML.
"use strict";
(() => {
  const POLL_MS = 3000;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const VIEW_W = 1000; // the timeline's viewBox, in SVG units
  const VIEW_H = 200;

  const root = document.getElementById("stream");
  if (!root) return;
  const $ = (id) => document.getElementById(id);

  function hms(seconds) {
    const total = Math.max(0, Math.floor(seconds));
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    return `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
  }

  function el(tag, attrs = {}, text = null) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    if (text !== null) node.textContent = text;
    return node;
  }

  function renderState(status) {
    const state = $("state");
    state.textContent = status.state_label;
    state.className = `state state-${status.state}`;
    $("state-help").textContent = status.state_help;
    const lastError = $("last-error");
    lastError.textContent = status.last_error || "";
    lastError.hidden = !status.last_error;
    const degraded = $("degraded");
    degraded.replaceChildren(...status.degraded.map((text) => el("li", {}, text)));
    $("segments-done").textContent = status.segments_done;
    $("highlight-count").textContent = status.highlights.length;
  }

  function highlightCard(h) {
    const card = el("li", { class: "card highlight", "data-highlight-id": h.id, "data-offset": h.start_offset_s });
    const video = el("video", { controls: "", preload: "none", src: h.clip_url, "aria-label": `Highlight at ${hms(h.start_offset_s)}` });
    if (h.thumbnail_url) video.setAttribute("poster", h.thumbnail_url);
    const meta = el("p", { class: "meta" });
    const at = el("span", {}, "at ");
    at.append(el("strong", { class: "offset" }, hms(h.start_offset_s)));
    const score = el("span", {}, "score ");
    score.append(el("strong", { class: "score" }, h.score.toFixed(2)));
    meta.append(at, " ", score, " ", el("span", { class: "duration" }, `${Math.round(h.duration_s)} s`));
    card.append(video, meta);
    if (h.reasons.length) {
      const reasons = el("ul", { class: "reasons" });
      reasons.append(...h.reasons.map((r) => el("li", {}, r.text)));
      card.append(reasons);
    }
    card.append(el("a", { class: "download", href: h.clip_url, download: "" }, "Download clip"));
    return card;
  }

  // Insert only the new cards, each before the first older one: moving an existing <video>
  // in the DOM would stop it if it is playing.
  function renderHighlights(highlights) {
    const list = $("highlights");
    const known = new Set([...list.children].map((c) => c.dataset.highlightId));
    for (const h of highlights) {
      if (known.has(String(h.id))) continue;
      const card = highlightCard(h);
      const later = [...list.children].find((c) => Number(c.dataset.offset) < h.start_offset_s);
      list.insertBefore(card, later || null);
      card.classList.add("new");
    }
    $("no-highlights").hidden = highlights.length > 0;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    return node;
  }

  function renderTimeline(status) {
    const chart = $("timeline");
    const segments = status.segments;
    const first = segments.length ? segments[0].offset_s : 0;
    const last = segments.length ? segments[segments.length - 1].offset_s : 0;
    const span = Math.max(last - first, 1);
    const x = (offset) => ((offset - first) / span) * VIEW_W;
    const y = (score) => VIEW_H - Math.min(Math.max(score, 0), 1) * VIEW_H;
    const nodes = [];
    for (const h of status.highlights) {
      const left = Math.max(0, x(h.start_offset_s));
      const width = Math.max(2, x(h.end_offset_s) - left);
      nodes.push(svg("rect", { class: "tl-highlight", x: left, y: 0, width, height: VIEW_H }));
    }
    const ty = y(status.threshold);
    nodes.push(svg("line", { class: "tl-threshold", x1: 0, x2: VIEW_W, y1: ty, y2: ty, "vector-effect": "non-scaling-stroke" }));
    if (segments.length) {
      const points = segments.map((s) => `${x(s.offset_s).toFixed(1)},${y(s.score).toFixed(1)}`).join(" ");
      nodes.push(svg("polyline", { class: "tl-score", points, "vector-effect": "non-scaling-stroke" }));
    }
    chart.replaceChildren(...nodes);
    chart.setAttribute("aria-label",
      `Score of ${segments.length} segments; ${status.highlights.length} highlights; threshold ${status.threshold.toFixed(2)}`);
    $("timeline-start").textContent = segments.length ? hms(first) : "";
    $("timeline-end").textContent = segments.length ? hms(last) : "";
    $("timeline-legend").textContent = segments.length
      ? `Segment score (0 to 1); dashed line: threshold ${status.threshold.toFixed(2)}`
      : "No segments scored yet.";
  }

  async function poll() {
    let again = true;
    try {
      const response = await fetch(root.dataset.statusUrl, {
        credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" },
      });
      if (response.status === 404) {
        $("poll-note").textContent = "This stream no longer exists.";
        again = false;
      } else if (!response.ok || !response.headers.get("Content-Type").startsWith("application/json")) {
        $("poll-note").textContent = "Could not refresh (are you still logged in?). Retrying…";
      } else {
        const status = await response.json();
        renderState(status);
        renderHighlights(status.highlights);
        renderTimeline(status);
        $("poll-note").textContent = "";
      }
    } catch (err) {
      $("poll-note").textContent = "Connection lost. Retrying…";
    }
    if (again) window.setTimeout(poll, POLL_MS);
  }

  poll();
})();
