// The segd explorer: a single page whose views are addressed after the #
// (#/fields, #/builder?expr=…, #/segments, #/segment/NAME, #/customer/KEY).
// Each view renders into <main id="view"> and returns a function that
// disposes of what it opened (requests, live feeds, charts). A view marks
// <main data-state="ready"> once its main content is shown (the page is
// usable), and <main data-complete> once every section is; the times of
// both, and of each section, are in window.segdTiming (docs/explorer.md,
// "Performance").

import { h, fill, api, auth, num, bytes, errorBox, hrefs } from "./lib.js";
import { fieldsView } from "./fields.js";
import { builderView } from "./builder.js";
import { segmentsView } from "./segments.js";
import { segmentView } from "./segment.js";
import { customerView } from "./customer.js";

const appStart = +performance.now().toFixed(1); // the modules are loaded
const view = document.getElementById("view");
let dispose = () => {};
let generation = 0;
let firstRender = true;

const routes = [
  [/^\/fields$/, "fields", () => fieldsView],
  [/^\/builder$/, "builder", () => builderView],
  [/^\/segments$/, "segments", () => segmentsView],
  [/^\/segment\/(.+)$/, "segments", () => segmentView],
  [/^\/customer\/(.+)$/, "customer", () => customerView],
];

// parseHash splits "#/builder?expr=…" into a path, its match and the query.
function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/segments";
  const q = raw.indexOf("?");
  const path = q >= 0 ? raw.slice(0, q) : raw;
  const query = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : "");
  return { path, query };
}

async function render() {
  dispose();
  dispose = () => {};
  const gen = ++generation;
  // How long a view takes to show its data: from the navigation's start
  // for the first view (the page and its scripts included), else from the
  // click.
  const t0 = firstRender ? 0 : performance.now();
  if (!firstRender) window.segdBoot?.drop(); // early answers are the first view's only
  const timing = { route: location.hash, first: firstRender, start: t0, app: appStart, sections: {}, ready: null, complete: null };
  window.segdTiming = timing;
  firstRender = false;
  const { path, query } = parseHash();
  view.dataset.state = "loading";
  view.dataset.route = location.hash;
  delete view.dataset.complete;
  delete view.dataset.loadMs;
  delete view.dataset.completeMs;
  const since = () => +(performance.now() - t0).toFixed(1);
  for (const a of document.querySelectorAll("nav a")) a.classList.remove("active");
  for (const [re, nav, get] of routes) {
    const m = path.match(re);
    if (!m) continue;
    document.querySelector(`nav a[data-nav="${nav}"]`)?.classList.add("active");
    const ctl = new AbortController();
    let info = null;
    const ctx = {
      signal: ctl.signal,
      params: m.slice(1).map(decodeURIComponent),
      query,
      // info is /api/info, asked once per view (the header shows it too).
      info: () => info || (info = api("/api/info", { signal: ctl.signal })),
      // section records when one part of the view is shown.
      section: (name) => {
        if (gen !== generation || name in timing.sections) return;
        timing.sections[name] = since();
      },
      // ready: the main content is shown, the view is usable.
      ready: () => {
        if (gen !== generation || timing.ready !== null) return;
        timing.ready = since();
        view.dataset.loadMs = String(timing.ready);
        view.dataset.state = "ready";
        refreshInfo(ctx); // the header's counts, after the view's own requests
      },
      // complete: every section is shown (implies ready).
      complete: () => {
        ctx.ready();
        if (gen !== generation || timing.complete !== null) return;
        timing.complete = since();
        view.dataset.completeMs = String(timing.complete);
        view.dataset.complete = "true";
      },
      current: () => gen === generation,
    };
    fill(view);
    let cleanup = () => {};
    dispose = () => {
      ctl.abort();
      cleanup();
    };
    try {
      cleanup = (await get()(view, ctx)) || (() => {});
      if (gen !== generation) cleanup();
    } catch (err) {
      if (gen !== generation || err.name === "AbortError") return;
      if (err.status === 401) return; // the login form took over
      fill(view, errorBox(err));
      view.dataset.state = "error";
      refreshInfo(ctx);
    }
    return;
  }
  window.segdTiming.ready = window.segdTiming.complete = since();
  view.dataset.complete = "true";
  fill(view, h("div", { class: "card" }, h("h1", {}, "Not found"), h("p", {}, "No view at ", h("code", {}, "#" + path), ". ", h("a", { href: "#/segments" }, "Go to the segments."))));
  view.dataset.state = "ready";
}

async function refreshInfo(ctx) {
  try {
    const info = await ctx.info();
    fill(
      document.getElementById("server-info"),
      `${num(info.entities)} customers · ${num(info.fields)} fields · ${num(info.segments)} segments · ${bytes(info.bytes)}`,
    );
    document.getElementById("logout").hidden = !info.auth;
  } catch {
    /* shown by the view */
  }
}

// The login form replaces the view when the API asks for the password.
function showLogin() {
  dispose();
  dispose = () => {};
  generation++;
  const input = h("input", { type: "password", name: "password", autocomplete: "current-password", placeholder: "Password", required: true, "aria-label": "Password" });
  const msg = h("p", { class: "error", hidden: true, role: "alert" });
  const form = h(
    "form",
    {
      class: "card login",
      id: "login",
      method: "post", // never a GET that would put the password in the address
      action: "/api/login",
      onsubmit: async (ev) => {
        ev.preventDefault();
        msg.hidden = true;
        try {
          await api("/api/login", { method: "POST", body: { password: input.value } });
          render();
        } catch (err) {
          fill(msg, Array.from(errorBox(err).childNodes));
          msg.hidden = false;
          input.select();
        }
      },
    },
    h("h1", {}, "segd explorer"),
    h("p", { class: "muted" }, "This server asks for a password: the one it was started with (--requirepass)."),
    input,
    h("button", { type: "submit" }, "Log in"),
    msg,
  );
  fill(view, form);
  fill(document.getElementById("server-info"));
  view.dataset.state = "login";
  input.focus();
}

auth.onAuthNeeded = showLogin;

document.getElementById("customer-search").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const key = ev.target.elements.key.value.trim();
  if (key) location.hash = hrefs.customer(key);
});

document.getElementById("logout").addEventListener("click", async () => {
  await api("/api/logout", { method: "POST", body: {} }).catch(() => {});
  showLogin();
});

window.addEventListener("hashchange", render);
// Leaving the page closes what the view holds open (a live feed would
// otherwise keep one of the browser's few connections to the server while
// the page sits in the back-forward cache); coming back renders again.
window.addEventListener("pagehide", () => {
  dispose();
  dispose = () => {};
  generation++;
});
window.addEventListener("pageshow", (ev) => {
  if (ev.persisted) render();
});
render();
