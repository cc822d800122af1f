// A record's form, built from the entity's fields with the phone's own widgets: date and
// date-time pickers in the phone's time zone, a select for a picklist, a switch for yes/no,
// a number keyboard for numbers, a search by name for a lookup. Only the fields the person
// changed are written; the errors edits.js finds are shown next to their field.

import { FieldErrors, createRecord, problemsOf, updateRecord } from "../edits.js";
import { fromLocalInput, numberToInput, parseNumber, toLocalInput } from "../format.js";
import { href, navigate } from "../router.js";
import { h, show, unknownEntity } from "../ui.js";
import { plural } from "./list.js";
import { refusal } from "../refusals.js";

/**
 * @typedef {import("../ui.js").ScreenContext} ScreenContext
 * @typedef {import("../ui.js").Screen} Screen
 * @typedef {import("../format.js").FieldDef} FieldDef
 * @typedef {import("./list.js").Row} Row
 * @typedef {{field: FieldDef, node: HTMLElement, read: () => unknown, error: HTMLElement,
 *   focus: HTMLElement, touched: boolean, changed: () => void}} Control
 */

const LOOKUP_RESULTS = 8;
const NOT_A_NUMBER = "Enter a number";
const NOT_A_WHOLE_NUMBER = "Enter a whole number";
const NOT_A_DATE = "Choose a date and time";

/**
 * @param {HTMLElement} view
 * @param {ScreenContext} ctx
 * @param {{name: string, entity?: string, id?: string}} route
 * @returns {Promise<Screen>}
 */
export async function render(view, ctx, route) {
  const name = route.entity ?? "";
  const entity = ctx.store.entity(name);
  const row = /** @type {Row|null} */ (route.id && entity ? await ctx.store.getRecord(name, route.id) : null);
  if (!entity) {
    show(view, ...unknownEntity(name));
    return {};
  }
  if (route.id && !row?.data) {
    show(view, h("a", { class: "back", href: href.list(name) }, "‹ Back"), h("h1", {}, "Not on this phone"), h("p", {}, "This record was deleted or is not on this phone."));
    return {};
  }
  const label = entity.label ?? name;
  const original = row?.data ?? {};
  const fields = /** @type {FieldDef[]} */ (entity.fields);
  const controls = await Promise.all(fields.map((f) => control(ctx, f, original[f.name])));
  const summary = h("div", { class: "errors-summary", role: "alert", tabindex: "-1", hidden: true });
  const cancel = route.id ? href.record(name, route.id) : href.list(name);
  const save = h("button", { type: "submit" }, "Save");
  const form = h(
    "form",
    { class: "form", novalidate: true, "aria-labelledby": "form-title" },
    summary,
    ...controls.map((c) => c.node),
    h("div", { class: "sticky-actions" }, h("a", { class: "button secondary", href: cancel }, "Cancel"), save),
  );
  show(
    view,
    h("a", { class: "back", href: cancel }, "‹ ", route.id ? row?.title || label : plural(label)),
    h("h1", { id: "form-title" }, route.id ? `Edit ${label.toLowerCase()}` : `New ${label.toLowerCase()}`),
    form,
  );

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    save.disabled = true;
    void submit().finally(() => {
      save.disabled = false;
    });
  });

  async function submit() {
    /** @type {Record<string, string>} */
    const problems = {};
    /** @type {Record<string, unknown>} */
    const values = {};
    for (const c of controls) {
      if (route.id && !c.touched) continue;
      let value;
      try {
        value = c.read();
      } catch (failure) {
        problems[c.field.name] = failure instanceof Error ? failure.message : String(failure);
        continue;
      }
      if (route.id ? !same(value, original[c.field.name]) : value !== null) values[c.field.name] = value;
    }
    // A value that cannot be read hides none of the record's other problems.
    if (Object.keys(problems).length) {
      Object.assign(problems, { ...(await problemsOf(ctx.store, name, values, route.id)), ...problems });
    } else {
      try {
        if (route.id) {
          if (Object.keys(values).length) await updateRecord(ctx.store, name, route.id, values);
          navigate(href.record(name, route.id));
        } else {
          const id = await createRecord(ctx.store, name, values);
          navigate(href.record(name, id));
        }
        return;
      } catch (failure) {
        const found = fieldErrors(failure);
        if (!found) throw failure;
        Object.assign(problems, found);
      }
    }
    showErrors(problems);
  }

  /** The problems shown now, by field name. @type {Record<string, string>} */
  let shown = {};

  /** @param {Record<string, string>} problems */
  function showErrors(problems) {
    shown = { ...problems };
    for (const c of controls) setError(c, problems[c.field.name]);
    summarize();
    focusFirst();
  }

  function summarize() {
    const names = Object.keys(shown);
    const others = names.filter((n) => !controls.some((c) => c.field.name === n));
    summary.hidden = !names.length;
    summary.replaceChildren(
      h("strong", {}, names.length === 1 ? "1 field needs your attention." : `${names.length} fields need your attention.`),
      ...others.map((n) => h("p", {}, shown[n])),
    );
  }

  function focusFirst() {
    const first = controls.find((c) => shown[c.field.name]);
    if (first) first.focus.focus();
    else summary.focus();
  }

  // A field's problem goes as soon as the person changes that field.
  for (const c of controls) {
    c.changed = () => {
      if (!(c.field.name in shown)) return;
      delete shown[c.field.name];
      setError(c, undefined);
      summarize();
    };
  }

  // A change the server refused for a field opens with the cause next to that field, and
  // the focus on it once the form is on the screen.
  const refused = row?.error ? refusal(row.error, entity, ctx.store.project()?.entities ?? []) : null;
  if (!refused?.field) return {};
  showErrors({ [refused.field]: refused.cause });
  return { focus: focusFirst };
}

/** The `{field: message}` of a FieldErrors thrown by edits.js, or null for anything else. */
function fieldErrors(/** @type {unknown} */ failure) {
  return failure instanceof FieldErrors ? failure.fields : null;
}

/** @param {unknown} a @param {unknown} b */
function same(a, b) {
  return (a ?? null) === (b ?? null) || JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** @param {Control} c @param {string|undefined} message */
function setError(c, message) {
  c.error.textContent = message ?? "";
  c.error.hidden = !message;
  c.node.classList.toggle("invalid", Boolean(message));
  if (message) c.focus.setAttribute("aria-invalid", "true");
  else c.focus.removeAttribute("aria-invalid");
}

/**
 * The widget of one field, reading back the value as the server stores it.
 * @param {ScreenContext} ctx @param {FieldDef} field @param {unknown} value
 * @returns {Promise<Control>}
 */
async function control(ctx, field, value) {
  const id = `f-${field.name}`;
  const error = h("p", { class: "field-error", id: `${id}-error`, hidden: true });
  const labelText = [field.label ?? field.name, field.required ? h("span", { class: "req" }, " (required)") : null];
  if (field.type === "lookup") return lookupControl(ctx, field, value, id, error, labelText);
  const input = widget(field, value, id);
  input.setAttribute("aria-describedby", error.id);
  if (field.required) input.setAttribute("aria-required", "true");
  /** @type {Control} */
  const c = {
    field,
    node: h("div", { class: "field" }),
    read: () => readWidget(field, input),
    error,
    focus: input,
    touched: false,
    changed: () => {},
  };
  const touch = () => {
    c.touched = true;
    c.changed();
  };
  input.addEventListener("input", touch);
  input.addEventListener("change", touch);
  if (field.type === "boolean") {
    const state = h("span", { class: "state", "aria-hidden": "true" }, value === true ? "Yes" : "No");
    input.addEventListener("change", () => {
      state.textContent = /** @type {HTMLInputElement} */ (input).checked ? "Yes" : "No";
    });
    c.node.append(h("label", { class: "switch", for: id }, input, h("span", {}, ...labelText), state), error);
  } else {
    c.node.append(h("label", { for: id }, ...labelText), input, error);
  }
  return c;
}

/**
 * The native input of a field, filled with its value.
 * @param {FieldDef} field @param {unknown} value @param {string} id
 * @returns {HTMLInputElement|HTMLSelectElement|HTMLTextAreaElement}
 */
function widget(field, value, id) {
  const text = value === null || value === undefined ? "" : String(value);
  const max = field.max_length ?? undefined;
  switch (field.type) {
    case "text":
      return h("textarea", { id, name: field.name, maxlength: max, rows: 4 }, text);
    case "integer":
      return h("input", { id, name: field.name, type: "text", inputmode: "numeric", autocomplete: "off", value: numberToInput(value) });
    case "decimal":
      return h("input", { id, name: field.name, type: "text", inputmode: "decimal", autocomplete: "off", value: numberToInput(value) });
    case "boolean":
      return h("input", { id, name: field.name, type: "checkbox", role: "switch", checked: value === true });
    case "date":
      return h("input", { id, name: field.name, type: "date", value: text });
    case "datetime":
      return h("input", { id, name: field.name, type: "datetime-local", value: toLocalInput(value) });
    case "picklist":
      return picklist(field, text, id);
    default:
      return h("input", { id, name: field.name, type: inputType(field.name), maxlength: max, value: text, autocomplete: "off" });
  }
}

/** @param {string} name */
function inputType(name) {
  if (/phone|mobile|^tel/i.test(name)) return "tel";
  if (/e-?mail/i.test(name)) return "email";
  if (/url|website/i.test(name)) return "url";
  return "text";
}

/** A select of the options; a stored value no longer among them stays, marked so. */
function picklist(/** @type {FieldDef} */ field, /** @type {string} */ current, /** @type {string} */ id) {
  const options = [...(field.options ?? [])];
  const select = h(
    "select",
    { id, name: field.name },
    h("option", { value: "" }, "—"),
    ...options.map((o) => h("option", { value: o, selected: o === current }, o)),
  );
  if (current && !options.includes(current)) {
    select.append(h("option", { value: current, selected: true }, `${current} (no longer an option)`));
  }
  return select;
}

/** The value of a widget as the server stores it; throws the message to show. */
function readWidget(/** @type {FieldDef} */ field, /** @type {HTMLInputElement|HTMLSelectElement|HTMLTextAreaElement} */ input) {
  const text = input.value;
  switch (field.type) {
    case "boolean":
      return /** @type {HTMLInputElement} */ (input).checked;
    case "integer":
    case "decimal": {
      const number = parseNumber(text, field.type === "integer");
      if (Number.isNaN(number)) throw new Error(field.type === "integer" ? NOT_A_WHOLE_NUMBER : NOT_A_NUMBER);
      return number;
    }
    case "datetime": {
      if (!text) return null;
      const stored = fromLocalInput(text);
      if (stored === null) throw new Error(NOT_A_DATE);
      return stored;
    }
    case "text":
      return text === "" ? null : text.replace(/\r\n?/g, "\n");
    default:
      return text === "" ? null : text;
  }
}

/**
 * A lookup: the chosen record by name, and a search among the target's records.
 * @param {ScreenContext} ctx @param {FieldDef} field @param {unknown} value @param {string} id
 * @param {HTMLElement} error @param {(string|HTMLElement|null)[]} labelText
 * @returns {Promise<Control>}
 */
async function lookupControl(ctx, field, value, id, error, labelText) {
  const target = field.target ?? "";
  let chosen = typeof value === "string" ? value : null;
  const chosenName = h("span", { id: `${id}-chosen` });
  const clear = h("button", { type: "button", class: "secondary" }, "Clear");
  const query = h("input", {
    id,
    type: "search",
    autocomplete: "off",
    placeholder: "Search by name",
    "aria-describedby": `${id}-chosen ${error.id}`,
    "aria-controls": `${id}-results`,
  });
  const results = h("ul", { id: `${id}-results`, "aria-label": `${field.label ?? field.name}: matches` });
  /** @type {Control} */
  const c = {
    field,
    node: h(
      "fieldset",
      { class: "field lookup" },
      h("legend", { class: "label" }, ...labelText),
      h("div", { class: "chosen" }, chosenName, clear),
      h("label", { for: id, class: "hint" }, `Find ${(ctx.store.entity(target)?.label ?? target).toLowerCase()} by name`),
      query,
      results,
      error,
    ),
    read: () => chosen,
    error,
    focus: query,
    touched: false,
    changed: () => {},
  };

  async function name() {
    if (!chosen) return "None chosen";
    const row = /** @type {Row|null} */ (await ctx.store.getRecord(target, chosen));
    return row?.data ? `Chosen: ${row.title || "(no name)"}` : "Chosen: a record not on this phone";
  }
  async function choose(/** @type {string|null} */ rid) {
    chosen = rid;
    c.touched = true;
    c.changed();
    chosenName.textContent = await name();
    clear.hidden = !chosen;
    results.replaceChildren();
    query.value = "";
  }
  let generation = 0;
  async function find() {
    const mine = ++generation;
    const text = query.value.trim();
    if (!text) {
      results.replaceChildren();
      return;
    }
    const page = await ctx.store.listRecords(target, { search: text, limit: LOOKUP_RESULTS });
    if (mine !== generation) return;
    results.replaceChildren(
      ...page.rows.map((/** @type {Row} */ r) =>
        h("li", {}, h("button", { type: "button", onclick: () => void choose(r.id) }, r.title || "(no name)")),
      ),
    );
    if (!page.rows.length) results.append(h("li", { class: "muted" }, "No match on this phone"));
  }
  query.addEventListener("input", () => void find());
  query.addEventListener("keydown", (event) => {
    if (event.key === "Enter") event.preventDefault();
  });
  clear.addEventListener("click", () => void choose(null));
  chosenName.textContent = await name();
  clear.hidden = !chosen;
  return c;
}
