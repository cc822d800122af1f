// fieldsync console: small progressive enhancements; every page works without them.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // The On Conflict picklist explains the chosen policy under it.
  for (const select of document.querySelectorAll("select[data-describe]")) {
    select.addEventListener("change", () => {
      const target = document.getElementById(select.dataset.describe);
      const option = select.selectedOptions[0];
      if (target && option) target.textContent = option.dataset.description || "";
    });
  }

  // Forms that destroy something ask first.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }

  // A form that would lose what was typed in it asks before the page is left unsaved
  // (by a link, or by sending another form).
  for (const form of document.querySelectorAll("form[data-warn-unsaved]")) {
    let unsaved = false;
    const note = (event) => {
      if (event.target.form === form) unsaved = true;
    };
    document.addEventListener("input", note);
    document.addEventListener("change", note);
    form.addEventListener("submit", () => {
      unsaved = false;
    });
    window.addEventListener("beforeunload", (event) => {
      if (unsaved) event.preventDefault();
    });
  }

  // The per-field merge picks show only when "Merge" is chosen.
  for (const merge of document.querySelectorAll("fieldset[data-show-when]")) {
    const form = merge.closest("form");
    const update = () => {
      const chosen = form.querySelector("input[name=use]:checked");
      merge.hidden = !chosen || chosen.value !== merge.dataset.showWhen;
    };
    form.addEventListener("change", update);
    update();
  }
});
