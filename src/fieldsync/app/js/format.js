// Values as a person reads and types them: numbers for the phone's locale, dates and times
// in the phone's time zone, yes/no for booleans. Stored values stay as the server stores
// them: dates as YYYY-MM-DD, date-times as ISO 8601 with an offset.

/**
 * @typedef {{name: string, type: string, label?: string, required?: boolean,
 *   max_length?: number|null, options?: string[]|null, target?: string|null}} FieldDef
 */

/** @returns {string|undefined} the locale the page is shown in (the browser's). */
function locale() {
  return undefined;
}

const EMPTY = "—";

/** @param {number} value @param {Intl.NumberFormatOptions} [options] */
export function formatNumber(value, options = {}) {
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: 6, ...options }).format(value);
}

/** @param {number} count */
export function formatCount(count) {
  return new Intl.NumberFormat(locale()).format(count);
}

/** "2026-12-07" as the phone's locale writes the day (no time zone shift: a date is a day). */
export function formatDate(/** @type {string} */ value) {
  const parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!parts) return value;
  const day = new Date(Date.UTC(Number(parts[1]), Number(parts[2]) - 1, Number(parts[3])));
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeZone: "UTC" }).format(day);
}

/** An ISO 8601 date-time in the phone's time zone (one without offset is read as local). */
export function formatDateTime(/** @type {string} */ value) {
  const moment = new Date(value);
  if (Number.isNaN(moment.getTime())) return value;
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "short" }).format(moment);
}

/** The clock time of a moment, e.g. "12:03" (for "Synced 12:03"). */
export function formatTime(/** @type {string} */ value) {
  const moment = new Date(value);
  if (Number.isNaN(moment.getTime())) return value;
  const sameDay = moment.toDateString() === new Date().toDateString();
  const options = /** @type {Intl.DateTimeFormatOptions} */ (
    sameDay ? { timeStyle: "short" } : { dateStyle: "medium", timeStyle: "short" }
  );
  return new Intl.DateTimeFormat(locale(), options).format(moment);
}

/**
 * A stored value as the read view and the lists show it.
 * @param {FieldDef} field
 * @param {unknown} value
 * @param {(id: string) => string} [lookupTitle] the name of a looked-up record
 */
export function formatValue(field, value, lookupTitle) {
  if (value === null || value === undefined || value === "") return EMPTY;
  switch (field.type) {
    case "boolean":
      return value === true ? "Yes" : value === false ? "No" : String(value);
    case "integer":
    case "decimal":
      return typeof value === "number" ? formatNumber(value) : String(value);
    case "date":
      return formatDate(String(value));
    case "datetime":
      return formatDateTime(String(value));
    case "lookup":
      return lookupTitle ? lookupTitle(String(value)) : String(value);
    default:
      return String(value);
  }
}

/** @param {number} n */
function two(n) {
  return String(n).padStart(2, "0");
}

/** A stored date-time as `<input type="datetime-local">` wants it, in the phone's zone. */
export function toLocalInput(/** @type {unknown} */ value) {
  if (typeof value !== "string" || !value) return "";
  const moment = new Date(value);
  if (Number.isNaN(moment.getTime())) return "";
  return (
    `${moment.getFullYear()}-${two(moment.getMonth() + 1)}-${two(moment.getDate())}` +
    `T${two(moment.getHours())}:${two(moment.getMinutes())}`
  );
}

/**
 * What a `datetime-local` input holds (the phone's wall time) as the server stores it:
 * ISO 8601 with the phone's offset at that moment, e.g. 2026-12-07T14:00:00+01:00.
 */
export function fromLocalInput(/** @type {string} */ text) {
  if (!text) return null;
  const moment = new Date(text);
  if (Number.isNaN(moment.getTime())) return null;
  const offset = -moment.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const hours = two(Math.floor(Math.abs(offset) / 60));
  const minutes = two(Math.abs(offset) % 60);
  return (
    `${moment.getFullYear()}-${two(moment.getMonth() + 1)}-${two(moment.getDate())}` +
    `T${two(moment.getHours())}:${two(moment.getMinutes())}:${two(moment.getSeconds())}` +
    `${sign}${hours}:${minutes}`
  );
}

/** The locale's decimal and group separators. */
function separators() {
  const parts = new Intl.NumberFormat(locale()).formatToParts(12345.6);
  const find = (/** @type {string} */ type) => parts.find((p) => p.type === type)?.value ?? "";
  return { decimal: find("decimal") || ".", group: find("group") };
}

/** A number as a form field shows it for editing: the locale's decimal mark, no grouping. */
export function numberToInput(/** @type {unknown} */ value) {
  if (typeof value !== "number") return value === null || value === undefined ? "" : String(value);
  return new Intl.NumberFormat(locale(), { useGrouping: false, maximumFractionDigits: 20 }).format(
    value,
  );
}

/**
 * A number typed in the phone's locale ("2 860 000,5", "2,860,000.5"): the number, null
 * for an empty field, NaN when it is not a number.
 * @param {string} text
 * @param {boolean} integer
 */
export function parseNumber(text, integer) {
  const { decimal, group } = separators();
  let cleaned = text.trim().replace(/[\s\u00a0\u202f]/g, "");
  if (!cleaned) return null;
  if (group && group.trim()) cleaned = cleaned.split(group).join("");
  if (decimal !== ".") cleaned = cleaned.replace(decimal, ".");
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(cleaned)) return Number.NaN;
  const number = Number(cleaned);
  if (integer && !Number.isInteger(number)) return Number.NaN;
  return number;
}
