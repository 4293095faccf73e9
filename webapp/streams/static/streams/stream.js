// The stream page: poll status.json every 3 s, update the state, insert new highlight cards and
// redraw the score timeline; a click (or Enter) on the timeline plays the nearest clip from the
// moment picked. Everything from the server goes in through textContent and attributes, never
// innerHTML.
//
// Other scripts on the page (feedback buttons) hook in through two events on `document`:
//   "stream:status"   detail: the status JSON, after each successful poll
//   "highlight:added" detail: {card, highlight}, for each card this script inserts
//   "timeline:pick"   detail: {offset_s}, the moment in the stream a click on the chart picked
"use strict";
(() => {
  const POLL_MS = 3000;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const PAD = { left: 34, right: 10, top: 10, bottom: 10 }; // px around the plot, room for labels
  const MAX_DOTS = 240; // beyond this many segments only the points over the bar get a dot
  const SCALES = [0.05, 0.1, 0.2, 0.25, 0.5, 1]; // tops of the score axis, the smallest that fits wins

  const root = document.getElementById("stream");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const chart = $("timeline");
  const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  let latest = null; // the last status JSON with every segment, for clicks and redraws on resize
  const segmentsBySeq = new Map(); // every segment so far; each poll asks only for newer ones

  function hms(seconds) {
    const total = Math.max(0, Math.floor(seconds));
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    return `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
  }

  function clock(iso) {
    return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function el(tag, attrs = {}, text = null) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    if (text !== null) node.textContent = text;
    return node;
  }

  function svg(tag, attrs, text = null) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    if (text !== null) node.textContent = text;
    return node;
  }

  // --- status ------------------------------------------------------------------------------

  // Screen readers hear what changes by itself: a new state, new clips (not the ones already
  // there when the page opened).
  function announce(text) {
    $("announce").textContent = text;
  }

  function renderState(status) {
    const state = $("state");
    if (latest && latest.state !== status.state) announce(`${status.name} is now ${status.state_label}.`);
    state.textContent = status.state_label;
    state.className = `state state-${status.state}`;
    $("state-help").textContent = status.state_help;
    $("last-error").textContent = status.last_error || "";
    $("last-error-row").hidden = !status.last_error;
    $("quiet-note").textContent = status.quiet_note || "";
    $("quiet-note").hidden = !status.quiet_note;
    $("degraded").replaceChildren(...status.degraded.map((text) => el("li", {}, text)));
    // Counted from the segments too: the job reports its count less often than it sends them.
    $("segments-done").textContent = Math.max(status.segments_done, status.segments.length);
    const count = status.highlights.length;
    $("highlight-count").textContent = `${count} highlight${count === 1 ? "" : "s"}`;
    renderProgress(status);
  }

  // A past broadcast's progress: share of the recording analysed and the time left (the same
  // words as the server-rendered _vod_progress.html).
  function renderProgress(status) {
    const bar = $("vod-progress-bar");
    if (!bar) return;
    const text = $("vod-progress-text");
    if (status.state === "finished") {
      bar.value = 1;
      text.textContent = "100% · finished";
    } else if (status.progress === null || status.progress === undefined) {
      text.textContent = "waiting for the recording's length";
    } else {
      bar.value = status.progress;
      const left = status.eta_s === null ? "" : ` · about ${Math.round(status.eta_s)} s left`;
      text.textContent = `${Math.round(status.progress * 100)}%${left}`;
    }
  }

  // --- highlight cards ---------------------------------------------------------------------

  function highlightCard(h) {
    const label = `Highlight at ${hms(h.start_offset_s)}`;
    const card = el("li", {
      class: "card highlight", id: `highlight-${h.id}`, "data-highlight-id": h.id,
      "data-offset": h.start_offset_s, "aria-label": label,
    });
    const video = el("video", { controls: "", preload: "none", playsinline: "", src: h.clip_url, "aria-label": label });
    if (h.thumbnail_url) video.setAttribute("poster", h.thumbnail_url);
    const meta = el("p", { class: "meta" });
    const at = el("span", {}, "at ");
    at.append(el("strong", { class: "offset" }, hms(h.start_offset_s)));
    const when = el("time", { class: "clock", datetime: h.start_utc }, clock(h.start_utc));
    const score = el("span", {}, "score ");
    score.append(el("strong", { class: "score" }, h.score.toFixed(2)));
    meta.append(at, " ", when, " ", el("span", { class: "duration" }, `${Math.round(h.duration_s)} s`), " ", score);
    card.append(video, meta);
    if (h.reasons.length) {
      const reasons = el("ul", { class: "reasons", "aria-label": "Why" });
      reasons.append(...h.reasons.map((r) => el("li", {}, r.text)));
      card.append(reasons);
    }
    const actions = el("div", { class: "clip-actions" });
    const download = el("a", { class: "button download", href: h.download_url, download: "" }, "Download");
    download.setAttribute("aria-label", `Download the clip at ${hms(h.start_offset_s)}`);
    actions.append(download);
    card.append(actions);
    return card;
  }

  // Insert only the new cards, each before the first older one: moving an existing <video>
  // in the DOM would stop it if it is playing.
  function renderHighlights(highlights) {
    const list = $("highlights");
    const known = new Set([...list.children].map((c) => c.dataset.highlightId));
    const added = highlights.filter((h) => !known.has(String(h.id)));
    if (latest && added.length) {
      announce(added.length === 1 ? `New highlight at ${hms(added[0].start_offset_s)}.` : `${added.length} new highlights.`);
    }
    for (const h of highlights) {
      if (known.has(String(h.id))) continue;
      const card = highlightCard(h);
      const later = [...list.children].find((c) => Number(c.dataset.offset) < h.start_offset_s);
      list.insertBefore(card, later || null);
      card.classList.add("new");
      document.dispatchEvent(new CustomEvent("highlight:added", { detail: { card, highlight: h } }));
    }
    $("no-highlights").hidden = highlights.length > 0;
  }

  // --- seeking -----------------------------------------------------------------------------

  // The clip whose span holds `offset`, else the one whose span is nearest to it.
  function clipFor(offset, highlights) {
    let best = null;
    let bestDistance = Infinity;
    for (const h of highlights) {
      const distance = Math.max(h.start_offset_s - offset, offset - h.end_offset_s, 0);
      if (distance < bestDistance) [best, bestDistance] = [h, distance];
    }
    return best;
  }

  function playFrom(video, at) {
    const jump = () => { video.currentTime = Math.min(at, Number.isFinite(video.duration) ? video.duration : at); };
    if (video.readyState >= HTMLMediaElement.HAVE_METADATA) jump();
    else {
      video.preload = "auto";
      video.addEventListener("loadedmetadata", jump, { once: true });
    }
    video.play().catch(() => {}); // if the browser blocks it, the controls are there for the user
  }

  function seek(offset) {
    const h = latest && clipFor(offset, latest.highlights);
    if (!h) {
      $("timeline-readout").textContent = `${hms(offset)}: no highlight clip yet`;
      return;
    }
    const card = document.querySelector(`#highlights [data-highlight-id="${h.id}"]`);
    if (!card) return;
    const inside = offset >= h.start_offset_s && offset <= h.end_offset_s;
    const at = inside ? offset - h.start_offset_s : 0;
    $("timeline-readout").textContent = `Playing the highlight at ${hms(h.start_offset_s)} from ${hms(h.start_offset_s + at)}`;
    card.scrollIntoView({ behavior: reducedMotion ? "auto" : "smooth", block: "center" });
    card.classList.remove("seeked");
    void card.offsetWidth; // restart the flash animation
    card.classList.add("seeked");
    const video = card.querySelector("video");
    video.focus({ preventScroll: true });
    playFrom(video, at);
  }

  // --- timeline ----------------------------------------------------------------------------

  // Scores are probabilities and the bar may be 0.15: an axis to 1 would squash everything into
  // the bottom few pixels, so the axis ends at the smallest round value that leaves headroom
  // above both the highest score and the bar.
  function scoreTop(status) {
    const highest = Math.max(status.bar ?? 0, ...status.segments.map((s) => s.score));
    return SCALES.find((top) => highest * 1.1 <= top) || 1;
  }

  // Pixel geometry of the chart as drawn now; the viewBox follows the element's size so dots
  // stay round and labels unstretched at any width. The x axis is time in the stream, from the
  // start of the first segment to the end of the last; each score sits at its segment's middle.
  function geometry(status) {
    const width = Math.max(chart.clientWidth, 200);
    const height = Math.max(chart.clientHeight, 100);
    const segments = status.segments;
    const tail = segments[segments.length - 1];
    const first = segments.length ? segments[0].offset_s : 0;
    const last = tail ? tail.offset_s + (tail.duration_s || 0) : 0;
    const span = Math.max(last - first, 1);
    const top = scoreTop(status);
    const plotW = width - PAD.left - PAD.right;
    const plotH = height - PAD.top - PAD.bottom;
    return {
      width, height, first, last, top,
      x: (offset) => PAD.left + Math.min(Math.max((offset - first) / span, 0), 1) * plotW,
      y: (score) => PAD.top + (1 - Math.min(Math.max(score / top, 0), 1)) * plotH,
      offsetAt: (px) => first + Math.min(Math.max((px - PAD.left) / plotW, 0), 1) * span,
    };
  }

  const middle = (s) => s.offset_s + (s.duration_s || 0) / 2;

  function highlightMark(h, g) {
    const left = g.x(h.start_offset_s);
    const width = Math.max(4, g.x(h.end_offset_s) - left);
    const label = `Highlight at ${hms(h.start_offset_s)}, score ${h.score.toFixed(2)}: play it`;
    const mark = svg("g", { class: "tl-highlight", tabindex: "0", role: "button", "aria-label": label,
                            "data-highlight-id": h.id });
    mark.append(svg("title", {}, label));
    mark.append(svg("rect", { x: left, y: PAD.top, width, height: g.height - PAD.top - PAD.bottom }));
    mark.append(svg("rect", { class: "tl-flag", x: left, y: 0, width, height: PAD.top - 2 }));
    return mark;
  }

  function renderTimeline(status) {
    const g = geometry(status);
    const segments = status.segments;
    chart.setAttribute("viewBox", `0 0 ${g.width} ${g.height}`);
    const nodes = [
      svg("text", { class: "tl-axis", x: PAD.left - 6, y: g.y(g.top) + 4, "text-anchor": "end" }, String(g.top)),
      svg("text", { class: "tl-axis", x: PAD.left - 6, y: g.y(0), "text-anchor": "end" }, "0"),
      svg("line", { class: "tl-axis-line", x1: PAD.left, x2: PAD.left, y1: g.y(g.top), y2: g.y(0) }),
    ];
    nodes.push(...status.highlights.map((h) => highlightMark(h, g)));
    // The bar: the score the server's selector held the latest segment to (none while it warms up).
    const bar = status.bar;
    const hasBar = typeof bar === "number";
    if (hasBar) {
      const ty = g.y(bar);
      nodes.push(svg("line", { class: "tl-bar", x1: PAD.left, x2: g.width - PAD.right, y1: ty, y2: ty }));
      nodes.push(svg("text", { class: "tl-axis tl-bar-label", x: PAD.left - 6, y: ty + 4, "text-anchor": "end" },
        bar.toFixed(2)));
    }
    const isHot = (s) => hasBar && s.score >= bar;
    if (segments.length) {
      const points = segments.map((s) => `${g.x(middle(s)).toFixed(1)},${g.y(s.score).toFixed(1)}`).join(" ");
      nodes.push(svg("polyline", { class: "tl-score", points }));
      const dotted = segments.length <= MAX_DOTS ? segments : segments.filter(isHot);
      for (const s of dotted) {
        const hot = isHot(s);
        nodes.push(svg("circle", { class: hot ? "tl-point hot" : "tl-point", cx: g.x(middle(s)), cy: g.y(s.score),
                                   r: hot ? 4 : 2.5, "data-offset": s.offset_s }));
      }
    }
    chart.replaceChildren(...nodes);
    chart.setAttribute("aria-label",
      `Score of ${segments.length} segments; ${status.highlights.length} highlights; ` +
      (hasBar ? `bar ${bar.toFixed(2)}` : "no bar yet (the selector is warming up)"));
    $("timeline-start").textContent = segments.length ? hms(g.first) : "";
    $("timeline-end").textContent = segments.length ? hms(g.last) : "";
    $("timeline-legend").textContent = segments.length
      ? `Segment score (0 to ${g.top}); ${hasBar ? `dashed line: the bar ${bar.toFixed(2)}` : "no bar yet"}; shaded: highlights`
      : "No segments scored yet.";
  }

  function offsetOfEvent(event) {
    const box = chart.getBoundingClientRect();
    return geometry(latest).offsetAt(event.clientX - box.left);
  }

  function highlightOfTarget(target) {
    const mark = target.closest && target.closest(".tl-highlight");
    return mark && latest.highlights.find((h) => String(h.id) === mark.dataset.highlightId);
  }

  chart.addEventListener("click", (event) => {
    if (!latest || !latest.segments.length) return;
    const offset = offsetOfEvent(event);
    seek(offset);
    document.dispatchEvent(new CustomEvent("timeline:pick", { detail: { offset_s: offset } }));
  });
  chart.addEventListener("keydown", (event) => {
    if (!latest || (event.key !== "Enter" && event.key !== " ")) return;
    const h = highlightOfTarget(event.target);
    if (!h) return;
    event.preventDefault();
    seek(h.start_offset_s);
  });
  chart.addEventListener("mousemove", (event) => {
    if (!latest || !latest.segments.length) return;
    const offset = offsetOfEvent(event);
    const nearest = latest.segments.reduce((a, b) => (Math.abs(middle(b) - offset) < Math.abs(middle(a) - offset) ? b : a));
    $("timeline-readout").textContent = `${hms(offset)}: segment score ${nearest.score.toFixed(2)}`;
  });
  let resizeTimer = 0;
  window.addEventListener("resize", () => {
    window.clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(() => latest && renderTimeline(latest), 150);
  });

  // --- polling -----------------------------------------------------------------------------

  async function poll() {
    let again = true;
    try {
      const url = new URL(root.dataset.statusUrl, window.location.href);
      if (segmentsBySeq.size) url.searchParams.set("after_seq", Math.max(...segmentsBySeq.keys()));
      const response = await fetch(url, {
        credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" },
      });
      const type = response.headers.get("Content-Type") || "";
      if (response.status === 404) {
        $("poll-note").textContent = "This stream no longer exists.";
        again = false;
      } else if (!response.ok || !type.startsWith("application/json")) {
        $("poll-note").textContent = "Could not refresh (are you still logged in?). Retrying…";
      } else {
        const status = await response.json();
        for (const s of status.segments) segmentsBySeq.set(s.seq, s);
        status.segments = [...segmentsBySeq.values()].sort((a, b) => a.seq - b.seq);
        renderState(status);
        renderHighlights(status.highlights);
        latest = status;
        renderTimeline(status);
        $("poll-note").textContent = "";
        document.dispatchEvent(new CustomEvent("stream:status", { detail: status }));
      }
    } catch (err) {
      $("poll-note").textContent = "Connection lost. Retrying…";
    }
    if (again) window.setTimeout(poll, POLL_MS);
  }

  for (const time of document.querySelectorAll("#highlights time.clock")) time.textContent = clock(time.dateTime);
  poll();
})();
