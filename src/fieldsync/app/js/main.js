// Boot: open the last user's store (so the app works offline at once), or the login
// screen; start the sync engine and its triggers; show the screen the hash names; keep
// the nav's counts and the sync bar current; offer a waiting app update.

import { formatCount } from "./format.js";
import { href, navigate, startRouter } from "./router.js";
import { registerWorker } from "./install.js";
import { lastSession } from "./store.js";
import { activeEngine, resumeSession, revokePending, startAutoSync } from "./sync.js";
import { h, show } from "./ui.js";
import * as home from "./screens/home.js";
import * as list from "./screens/list.js";
import * as login from "./screens/login.js";
import * as record from "./screens/record.js";
import * as form from "./screens/form.js";
import * as settings from "./screens/settings.js";
import * as syncbar from "./screens/syncbar.js";

/**
 * @typedef {import("./store.js").Store} Store
 * @typedef {import("./router.js").Route} Route
 * @typedef {import("./ui.js").ScreenContext} ScreenContext
 * @typedef {import("./ui.js").Screen} Screen
 * @typedef {Screen & {select: (id: string|undefined) => void, entity: string}} ListScreen
 */

const REFRESH_MS = 400;
const view = /** @type {HTMLElement} */ (document.getElementById("screen"));
const nav = /** @type {HTMLElement} */ (document.getElementById("nav"));
const bar = /** @type {HTMLElement} */ (document.getElementById("syncbar"));

/** @type {ScreenContext|null} */
let ctx = null;
/** @type {{refresh: () => Promise<void>, dispose: () => void}|null} */
let sync = null;
/** @type {(() => void)|null} */
let unsubscribe = null;
let routing = false;
/** @type {Screen|null} */
let current = null;
/** @type {{screen: ListScreen, pane: HTMLElement}|null} */
let listPane = null;
let routeName = "";
let generation = 0;

async function boot() {
  void registerWorker(offerUpdate);
  // A logout made offline revokes its token once the server can be reached.
  void revokePending();
  window.addEventListener("online", () => void revokePending());
  const store = await resumeSession(location.origin);
  const user = store ? await store.getMeta("user") : null;
  if (store && user && ((await store.getMeta("token")) || (await store.getMeta("auth_needed")))) {
    await enter(store, user.username);
    return;
  }
  await showLogin((await lastSession())?.server_username, false);
}

/** @param {string|undefined} username @param {boolean} again */
async function showLogin(username, again) {
  nav.hidden = !ctx;
  await login.render(view, {
    username,
    again,
    onLogin: async (store) => {
      const user = await store.getMeta("user");
      await enter(store, user?.username ?? username ?? "");
      navigate(href.home());
    },
  });
}

/** Open the app on `store` with the session's engine: sync bar, nav, the hash's screen. */
async function enter(/** @type {Store} */ store, /** @type {string} */ username) {
  const engine = /** @type {import("./sync.js").SyncEngine} */ (activeEngine());
  sync?.dispose();
  unsubscribe?.();
  ctx = { store, engine, username };
  const who = document.getElementById("who");
  if (who) who.textContent = username;
  sync = syncbar.mount(bar, ctx);
  unsubscribe = store.subscribe(throttle(() => void refreshAll(), REFRESH_MS));
  await drawNav();
  if (!routing) {
    routing = true;
    startRouter((route) => void route_(route));
  }
  startAutoSync(engine);
}

/** Redraw what shows store data, except a form being typed in. */
async function refreshAll() {
  await Promise.all([drawNav(), sync?.refresh()]);
  if (listPane?.pane.isConnected) await listPane.screen.refresh?.();
  if (current && routeName !== "edit" && routeName !== "new") await current.refresh?.();
}

/** The sections: home, each entity with its count, Sync errors with a badge, settings. */
async function drawNav() {
  if (!ctx) return;
  const store = ctx.store;
  const entities = store.project()?.entities ?? [];
  const counts = await Promise.all(entities.map((e) => store.countRecords(e.name)));
  const [conflicts, refused] = await Promise.all([store.openConflicts(), store.refusedRecords()]);
  const attention = conflicts.length + refused.length;
  const here = location.hash || "#/";
  /** @param {string} target @param {(string|Node)[]} content */
  const item = (target, ...content) =>
    h("li", {}, h("a", { href: target, "aria-current": current_(here, target) ? "page" : false }, ...content));
  nav.hidden = false;
  nav.replaceChildren(
    h(
      "ul",
      {},
      item(href.home(), "Home"),
      ...entities.map((e, i) =>
        item(href.list(e.name), list.plural(e.label ?? e.name), " ", h("span", { class: "badge" }, formatCount(counts[i]))),
      ),
      item(
        href.errors(),
        "Sync errors",
        " ",
        h("span", { class: `badge${attention ? " alert" : ""}`, "aria-label": `${attention} need you` }, formatCount(attention)),
      ),
      item(href.settings(), "Settings"),
    ),
  );
}

/** Whether the nav entry `target` is the section of the screen at `here`. */
function current_(/** @type {string} */ here, /** @type {string} */ target) {
  if (target === "#/") return here === "#/" || here === "#";
  const [, section, entity] = target.split("/");
  const [, hereSection, hereEntity] = here.split("/");
  if (section === "list") return ["list", "record", "edit", "new"].includes(hereSection) && entity === hereEntity;
  if (section === "errors") return hereSection === "errors" || hereSection === "conflict";
  return section === hereSection;
}

/** Show the screen of `route`. */
async function route_(/** @type {Route} */ route) {
  if (!ctx) return;
  const mine = ++generation;
  const authNeeded = await ctx.store.getMeta("auth_needed");
  if (mine !== generation) return;
  current?.dispose?.();
  current = null;
  const previous = routeName;
  routeName = route.name;
  void drawNav();
  if (route.name === "login") {
    if (authNeeded) await showLogin((await lastSession())?.server_username ?? ctx.username, true);
    else navigate(href.home());
    return;
  }
  if (["list", "record", "edit", "new"].includes(route.name)) {
    await split(route, previous, mine);
    return;
  }
  dropList();
  const host = h("div", { class: "host" });
  const screen = await screenOf(route, host);
  if (!settle(mine, screen)) return;
  view.replaceChildren(host);
  if (window.matchMedia("(max-width: 63.99rem)").matches) window.scrollTo(0, 0);
  view.focus({ preventScroll: true });
}

/**
 * Whether the screen rendered for route number `mine` is still the one to show: a later
 * route (a quick second tap) wins, and the screen it replaced is let go.
 * @param {number} mine @param {Screen|null} screen
 */
function settle(mine, screen) {
  if (mine !== generation) {
    screen?.dispose?.();
    return false;
  }
  current = screen;
  return true;
}

/** A screen that is not a list or a record, by the route. @returns {Promise<Screen|null>} */
async function screenOf(/** @type {Route} */ route, /** @type {HTMLElement} */ target) {
  const c = /** @type {ScreenContext} */ (ctx);
  switch (route.name) {
    case "home":
      return home.render(target, c);
    case "settings":
      return settings.render(target, c);
    case "errors":
      return external("./screens/errors.js", target, route);
    case "conflict":
      return external("./screens/conflict.js", target, route);
    default:
      show(target, h("h1", {}, "Not found"), h("p", {}, h("a", { href: href.home() }, "Go to the start")));
      return null;
  }
}

/**
 * A screen of another module (Sync errors, conflict), loaded when first shown.
 * @param {string} path @param {HTMLElement} target @param {Route} route
 * @returns {Promise<Screen|null>}
 */
async function external(path, target, route) {
  try {
    /** @type {{render?: Function, show?: Function, default?: Function}} */
    const module = await import(path);
    const render = module.render ?? module.show ?? module.default;
    if (render) return (await render(target, ctx, route)) ?? null;
  } catch (failure) {
    console.error(failure);
  }
  show(target, h("h1", {}, "Not available"), h("p", {}, "This screen could not be opened."));
  return null;
}

/**
 * An entity's list beside (tablet) or instead of (phone) one of its records or a form.
 * @param {Route} route @param {string} previous the route shown before @param {number} mine
 */
async function split(route, previous, mine) {
  const c = /** @type {ScreenContext} */ (ctx);
  const entity = route.entity ?? "";
  const focus = route.name === "list" ? "list" : "detail";
  if (!listPane || listPane.screen.entity !== entity || !listPane.pane.isConnected) {
    const pane = h("section", { class: "list-pane", "aria-label": "List" });
    const screen = await list.render(pane, c, route);
    if (mine !== generation) {
      screen.dispose?.();
      return;
    }
    dropList();
    const detail = h("section", { class: "detail-pane", "aria-label": "Record", id: "detail", tabindex: "-1" });
    view.replaceChildren(h("div", { class: "split", "data-focus": focus }, pane, detail));
    listPane = { screen, pane };
  }
  const splitNode = /** @type {HTMLElement} */ (view.querySelector(".split"));
  splitNode.dataset.focus = focus;
  listPane.screen.select(route.id);
  const detail = /** @type {HTMLElement} */ (view.querySelector(".detail-pane"));
  const host = h("div", { class: "host" });
  /** @type {Screen|null} */
  let screen = null;
  if (route.name === "list") show(host, h("p", { class: "empty" }, "Choose a record to see it here."));
  else screen = await (route.name === "record" ? record : form).render(host, c, route);
  if (!settle(mine, screen)) return;
  detail.replaceChildren(host);
  const phone = window.matchMedia("(max-width: 63.99rem)").matches;
  if (phone && !(route.name === "list" && previous !== "list")) window.scrollTo(0, 0);
  if (screen?.focus) screen.focus();
  else if (phone || route.name !== "list") (focus === "list" ? view : detail).focus?.({ preventScroll: true });
}

function dropList() {
  listPane?.screen.dispose?.();
  listPane = null;
}

/** `fn` at most once per `wait` ms, and once more after the last call. */
function throttle(/** @type {() => void} */ fn, /** @type {number} */ wait) {
  /** @type {ReturnType<typeof setTimeout>|undefined} */
  let timer;
  return () => {
    if (timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      fn();
    }, wait);
  };
}

/** A new version of the app waits: offer "Update ready — reload". */
function offerUpdate(/** @type {() => void} */ apply) {
  const banner = /** @type {HTMLElement} */ (document.getElementById("update"));
  const button = /** @type {HTMLButtonElement} */ (document.getElementById("update-reload"));
  banner.hidden = false;
  button.onclick = () => {
    button.disabled = true;
    apply();
  };
}

void boot();
