// Log in to the server this app came from. A failed login keeps what was typed and says
// why; when the session ended (token expired or revoked) it asks the same user's password
// again and everything on the phone, unsent changes included, stays.

import { login } from "../sync.js";
import { h, show } from "../ui.js";

/**
 * @typedef {import("../store.js").Store} Store
 * @typedef {{username?: string, again?: boolean, onLogin: (store: Store) => void | Promise<void>}} LoginOptions
 */

/**
 * @param {HTMLElement} view
 * @param {LoginOptions} options
 */
export async function render(view, options) {
  const again = Boolean(options.again && options.username);
  const username = h("input", {
    id: "login-username",
    name: "username",
    autocomplete: "username",
    autocapitalize: "none",
    spellcheck: "false",
    required: true,
    value: options.username ?? "",
    readonly: again,
  });
  const password = h("input", { id: "login-password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const problem = h("p", { class: "errors-summary", role: "alert", id: "login-problem", hidden: true });
  const submit = h("button", { type: "submit" }, "Log in");
  const form = h(
    "form",
    { class: "form", novalidate: true, "aria-labelledby": "login-title", "aria-describedby": problem.id },
    problem,
    h("div", { class: "field" }, h("label", { for: username.id }, "Username"), username),
    h("div", { class: "field" }, h("label", { for: password.id }, "Password"), password),
    submit,
  );
  show(
    view,
    h(
      "section",
      { class: "login" },
      h("h1", { id: "login-title" }, again ? "Your session ended" : "Log in"),
      again
        ? h("p", {}, `Enter the password of ${options.username} to sync again. Everything on this phone, unsent changes too, is kept.`)
        : h("p", {}, "Your records are then kept on this phone and work with no network."),
      h("p", { class: "server" }, `Server: ${location.host}`),
      form,
    ),
  );
  (again ? password : username).focus();

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void attempt();
  });

  async function attempt() {
    problem.hidden = true;
    if (!username.value.trim() || !password.value) {
      say(!username.value.trim() ? "Enter your username." : "Enter your password.");
      return;
    }
    if (!navigator.onLine) {
      say("You are offline. Logging in needs the network; try again when you are connected.");
      return;
    }
    submit.disabled = true;
    submit.textContent = "Logging in…";
    try {
      const store = await login(location.origin, username.value.trim(), password.value);
      await options.onLogin(store);
    } catch (failure) {
      say(reason(failure));
    } finally {
      submit.disabled = false;
      submit.textContent = "Log in";
    }
  }

  /** @param {string} message */
  function say(message) {
    problem.textContent = message;
    problem.hidden = false;
    password.focus();
  }
}

/** The wait the server asked for (Retry-After seconds), in words: "29 seconds", "2 minutes". */
function wait(/** @type {unknown} */ seconds) {
  if (typeof seconds !== "number" || !(seconds > 0)) return "a moment";
  if (seconds < 60) return seconds === 1 ? "1 second" : `${Math.ceil(seconds)} seconds`;
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? "1 minute" : `${minutes} minutes`;
}

/** Why a login failed, in words for the person at the phone. */
function reason(/** @type {unknown} */ failure) {
  const f = /** @type {{code?: string, status?: number, message?: string, details?: {retry_after?: unknown}}} */ (failure ?? {});
  if (f.status === 401 || f.code === "invalid_credentials" || f.code === "unauthorized") {
    return "That username and password do not match. Check them and try again.";
  }
  if (f.status === 429 || f.code === "too_many_attempts") {
    return `Too many failed attempts to log in. Wait ${wait(f.details?.retry_after)}, then try again.`;
  }
  if (f.code === "busy") return "The server is busy. Wait a moment, then try again.";
  if (f.message) return f.message;
  return "The server could not be reached. Check the network and try again.";
}
