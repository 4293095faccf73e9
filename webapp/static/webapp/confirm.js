// Ask before submitting a form marked `data-confirm` (the trash buttons): one listener for
// the whole page, so forms added later are covered too.
"use strict";
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});
