// Settings: who is logged in on which server, this phone's device id and what waits to be
// sent, and Log out (which keeps the phone's data and unsent changes for the next login).

import { logout } from "../sync.js";
import { formatCount, formatTime } from "../format.js";
import { href } from "../router.js";
import { confirmDialog, h, show } from "../ui.js";

/**
 * @typedef {import("../ui.js").ScreenContext} ScreenContext
 * @typedef {import("../ui.js").Screen} Screen
 */

/**
 * @param {HTMLElement} view
 * @param {ScreenContext} ctx
 * @returns {Promise<Screen>}
 */
export async function render(view, ctx) {
  const draw = async () => {
    const store = ctx.store;
    const [user, deviceId, lastSync, pending, unsent] = await Promise.all([
      store.getMeta("user"),
      store.getMeta("device_id"),
      store.getMeta("last_sync"),
      store.pendingCount(),
      store.unsentCount(),
    ]);
    // Refused changes and conflicts were sent: they wait for the user, not for a sync.
    const project = store.project();
    show(
      view,
      h("h1", {}, "Settings"),
      h(
        "dl",
        { class: "facts" },
        fact("User", `${user?.username ?? ctx.username}${user?.role ? ` (${user.role})` : ""}`),
        fact("Server", location.host),
        fact("Last synced", lastSync ? formatTime(lastSync) : "Not yet"),
        fact("Changes not sent yet", formatCount(unsent)),
        pending > unsent ? fact("Waiting for you in Sync errors", formatCount(pending - unsent)) : null,
        fact("Project version", project ? String(project.version) : "—"),
        fact("Device id", deviceId ?? "—"),
      ),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "danger", onclick: () => void leave(pending) }, "Log out"),
      ),
      h("p", { class: "muted" }, "Logging out keeps this phone's records and unsent changes; they are sent after you log in again as the same user."),
    );
  };

  /** @param {number} pending */
  async function leave(pending) {
    const unsent =
      pending === 1
        ? "1 change is not sent yet. It stays on this phone and is sent"
        : `${formatCount(pending)} changes are not sent yet. They stay on this phone and are sent`;
    const words = [pending ? `${unsent} when you log in again.` : "Log out of this phone?"];
    if (!navigator.onLine) words.push("You are offline: the server ends this session when the phone is next online.");
    if (pending) words.push("Log out?");
    const question = words.join(" ");
    if (!(await confirmDialog(question, "Log out"))) return;
    await logout();
    // The store is closed now: no screen may be drawn before the reload opens the login.
    history.replaceState(null, "", href.login());
    location.reload();
  }

  await draw();
  return { refresh: draw };
}

/** @param {string} term @param {string} value */
function fact(term, value) {
  return h("div", {}, h("dt", {}, term), h("dd", {}, value));
}
