// Trim a highlight and export it vertical (9:16) or square: a form under each highlight card
// (start and end in seconds, a preview that plays just that range, the layout), then the
// exports of that highlight with their progress (queued, rendering N %, ready), polled from
// render.json until they are ready; a ready one plays and downloads.
//
// Cards come from stream.js; this script learns each highlight's URLs and exports from the
// status JSON stream.js polls ("stream:status"). Server text goes in through textContent only.
"use strict";
(() => {
  const POLL_MS = 1500;
  const root = document.getElementById("stream");
  if (!root) return;
  const csrf = () => (document.querySelector("input[name=csrfmiddlewaretoken]") || {}).value || "";
  const polling = new Map(); // render id -> its list item, while it is not finished

  function el(tag, attrs = {}, text = null) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    if (text !== null) node.textContent = text;
    return node;
  }

  const seconds = (value) => `${Number(value).toFixed(1)} s`;

  function exportPanel(card, h) {
    const length = Math.max(1, Math.round(h.duration_s * 10) / 10);
    const details = el("details", { class: "export" });
    details.append(el("summary", {}, "Trim & export vertical / square / landscape"));
    const form = el("form", { method: "post", action: h.render_url, class: "export-form" });
    form.append(el("input", { type: "hidden", name: "csrfmiddlewaretoken", value: csrf() }));
    const field = (label, input) => {
      const wrap = el("label", {}, label);
      wrap.append(input);
      return wrap;
    };
    const start = el("input", { type: "number", name: "start_s", min: "0", max: String(length), step: "0.1", value: "0", required: "" });
    const end = el("input", { type: "number", name: "end_s", min: "0", max: String(length), step: "0.1", value: String(length), required: "" });
    const layout = el("select", { name: "layout" });
    layout.append(el("option", { value: "vertical" }, "Vertical 9:16"), el("option", { value: "square" }, "Square 1:1"),
      el("option", { value: "landscape" }, "Landscape, trimmed"));
    const preview = el("button", { type: "button", class: "preview" }, "Preview range");
    const submit = el("button", { type: "submit" }, "Export");
    const message = el("p", { class: "export-message", role: "status" });
    form.append(field("Start (s) ", start), field("End (s) ", end), field("Layout ", layout), preview, submit, message);
    const list = el("ul", { class: "renders", "aria-label": "Exports of this highlight" });
    details.append(form, list);

    // The preview plays the card's own clip from start and stops at end.
    const video = card.querySelector("video");
    let stopAt = null;
    video.addEventListener("timeupdate", () => {
      if (stopAt !== null && video.currentTime >= stopAt) {
        video.pause();
        stopAt = null;
      }
    });
    preview.addEventListener("click", () => {
      video.preload = "auto";
      stopAt = Number(end.value);
      video.currentTime = Number(start.value);
      video.play().catch(() => {});
    });

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      submit.disabled = true;
      message.textContent = "Starting the export…";
      try {
        const response = await fetch(form.action, {
          method: "POST",
          body: new FormData(form),
          headers: { Accept: "application/json", "X-CSRFToken": csrf() },
          credentials: "same-origin",
        });
        const body = await response.json();
        if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
        message.textContent = "";
        showRender(list, body.render);
      } catch (error) {
        message.textContent = error.message;
      } finally {
        submit.disabled = false;
      }
    });
    card.append(details);
    return list;
  }

  function showRender(list, r) {
    let item = list.querySelector(`[data-render-id="${r.id}"]`);
    if (!item) {
      item = el("li", { class: "render", "data-render-id": String(r.id) });
      list.prepend(item);
    }
    if (item.dataset.state === r.state && r.state !== "rendering") return;
    item.dataset.state = r.state;
    const what = el("span", { class: "render-what" }, `${r.layout_label}, ${seconds(r.start_s)} to ${seconds(r.end_s)}: `);
    const percent = Math.round((r.progress || 0) * 100);
    const state = el("strong", { class: `render-state render-${r.state}` },
      r.state === "rendering" ? `Rendering ${percent} %` : r.state_label);
    const parts = [what, state];
    if (r.state === "queued" || r.state === "rendering") {
      parts.push(el("progress", { max: "100", value: String(percent), "aria-label": "Export progress" }));
      polling.set(r.id, { item, url: r.status_url, list });
    } else {
      polling.delete(r.id);
    }
    if (r.state === "ready") {
      const player = el("video", { controls: "", preload: "metadata", playsinline: "", src: r.url, class: `render-video render-${r.layout}` });
      const download = el("a", { class: "button download", href: r.download_url, download: "" }, "Download");
      parts.push(player, download);
    }
    if (r.state === "error" && r.error) parts.push(el("span", { class: "error-text" }, ` ${r.error}`));
    item.replaceChildren(...parts);
  }

  async function poll() {
    for (const [id, { url, list, item }] of [...polling]) {
      try {
        const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
        if (!response.ok) continue;
        const body = await response.json();
        showRender(list, body.render);
        if (body.note) item.title = body.note;
      } catch (error) {
        // the next round tries again
      }
      if (!polling.has(id)) continue;
    }
    setTimeout(poll, POLL_MS);
  }

  const lists = new Map(); // highlight id -> its exports list
  document.addEventListener("stream:status", (event) => {
    for (const h of event.detail.highlights) {
      const card = document.getElementById(`highlight-${h.id}`);
      if (!card || !h.render_url) continue;
      if (!lists.has(h.id)) {
        lists.set(h.id, exportPanel(card, h));
        for (const r of [...h.renders].reverse()) showRender(lists.get(h.id), r);
      }
    }
  });
  setTimeout(poll, POLL_MS);
})();
