// Feedback on the stream page: thumbs up/down on every highlight card (also the ones stream.js
// adds later), "this was a highlight" at a moment picked on the score timeline, and the
// highlight budget (a slider and a number, highlights per hour). Every change is a POST with the
// CSRF token; text goes in via textContent.
"use strict";
(() => {
  const panel = document.getElementById("feedback");
  if (!panel) return;
  const $ = (id) => document.getElementById(id);
  const csrf = panel.querySelector("input[name=csrfmiddlewaretoken]").value;
  let votes = {};

  function hms(seconds) {
    const total = Math.max(0, Math.floor(seconds));
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    return `${h}:${String(m).padStart(2, "0")}:${String(total % 60).padStart(2, "0")}`;
  }

  async function post(url, fields) {
    const body = new URLSearchParams(fields);
    const response = await fetch(url, {
      method: "POST", body, credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
    });
    const doc = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
    if (!response.ok) throw new Error(doc.error || `HTTP ${response.status}`);
    return doc;
  }

  async function loadState() {
    const response = await fetch(panel.dataset.stateUrl, { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) return;
    const doc = await response.json();
    votes = doc.votes;
    document.querySelectorAll("#highlights .highlight").forEach(decorate);
    showEstimate(doc.estimate);
  }

  // --- thumbs on highlight cards ------------------------------------------------------------

  function voteUrl(id) {
    return panel.dataset.voteUrl.replace(/\/0\/vote\/$/, `/${id}/vote/`);
  }

  // Material Design "thumb_up" icon (Apache 2.0), drawn as SVG: no emoji font needed.
  const THUMB = "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 " +
    "7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z";
  function thumb(down) {
    const ns = "http://www.w3.org/2000/svg";
    const icon = document.createElementNS(ns, "svg");
    icon.setAttribute("viewBox", "0 0 24 24");
    icon.setAttribute("aria-hidden", "true");
    icon.setAttribute("class", "thumb");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", THUMB);
    if (down) path.setAttribute("transform", "rotate(180 12 12)");
    icon.append(path);
    return icon;
  }

  function showVote(box, value) {
    for (const button of box.querySelectorAll("button")) {
      button.setAttribute("aria-pressed", String(button.dataset.value === value));
    }
  }

  function decorate(card) {
    const id = card.dataset.highlightId;
    let box = card.querySelector(".votes");
    if (!box) {
      box = document.createElement("div");
      box.className = "votes";
      box.setAttribute("role", "group");
      box.setAttribute("aria-label", "Was this a highlight?");
      for (const [value, label] of [["up", "Good highlight"], ["down", "Not a highlight"]]) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = `vote vote-${value}`;
        button.dataset.value = value;
        button.append(thumb(value === "down"));
        button.setAttribute("aria-label", label);
        button.addEventListener("click", () => vote(card, box, value));
        box.append(button);
      }
      card.append(box);
    }
    showVote(box, votes[id] || null);
  }

  async function vote(card, box, value) {
    const id = card.dataset.highlightId;
    try {
      const doc = await post(voteUrl(id), { value });
      votes[id] = doc.vote;
      showVote(box, doc.vote);
    } catch (err) {
      box.title = `Vote not saved: ${err.message}`;
    }
  }

  const list = $("highlights");
  if (list) {
    new MutationObserver(() => list.querySelectorAll(".highlight").forEach(decorate))
      .observe(list, { childList: true });
  }

  // --- a missed moment, picked on the timeline or typed ---------------------------------------

  // stream.js says which moment a click on the score timeline picked (its own geometry, so the
  // two scripts never disagree about where a point is).
  document.addEventListener("timeline:pick", (event) => {
    const offset = Math.round(event.detail.offset_s);
    $("missed-offset").value = hms(offset);
    $("missed-note").textContent = `Picked ${hms(offset)}: press "This was a highlight" to mark it.`;
  });

  $("missed-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const note = $("missed-note");
    try {
      const doc = await post(panel.dataset.missedUrl, { offset: $("missed-offset").value });
      note.textContent = `Thanks: ${hms(doc.offset_s)} marked as a highlight the model missed.`;
      const known = [...$("missed-list").children].some((li) => li.dataset.momentId === String(doc.id));
      if (!known) {
        const li = document.createElement("li");
        li.dataset.momentId = doc.id;
        li.textContent = `${hms(doc.offset_s)} (reload to remove)`;
        $("missed-list").append(li);
      }
    } catch (err) {
      note.textContent = `Not marked: ${err.message}`;
    }
  });

  // --- the highlight budget -----------------------------------------------------------------

  // The slider moves over log-ish stops (the form's data-steps, from webapp/feedback/budget.py);
  // the number beside it is what is sent and takes any value the server accepts.
  const form = $("budget-form");
  const slider = $("budget-slider");
  const number = $("budget");
  const steps = form.dataset.steps.split(",").map(Number);
  const nearest = (value) => steps.reduce((best, step, i) =>
    (Math.abs(Math.log(step / value)) < Math.abs(Math.log(steps[best] / value)) ? i : best), 0);
  function showSlider(value) {
    if (value > 0) slider.value = nearest(value);
    slider.setAttribute("aria-valuetext", `${Number(value)} per hour`);
  }
  function showEstimate(estimate) {
    $("budget-estimate").textContent = estimate ? estimate.text : "Nothing of this stream has been scored yet.";
  }
  slider.addEventListener("input", () => {
    number.value = steps[Number(slider.value)];
    slider.setAttribute("aria-valuetext", `${number.value} per hour`);
  });
  number.addEventListener("input", () => showSlider(Number(number.value)));
  async function sendBudget(fields) {
    const note = $("budget-note");
    try {
      const doc = await post(form.action, fields);
      note.textContent = `${doc.text} ${doc.note}`;
      number.value = doc.effective_per_hour;
      showSlider(doc.effective_per_hour);
      showEstimate(doc.estimate);
      $("budget-reset").hidden = doc.per_hour === null;
    } catch (err) {
      note.textContent = `Not saved: ${err.message}`;
    }
  }
  slider.addEventListener("change", () => sendBudget({ per_hour: number.value }));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const reset = event.submitter && event.submitter.name === "reset";
    sendBudget(reset ? { reset: "1" } : { per_hour: number.value });
  });

  loadState();
})();
