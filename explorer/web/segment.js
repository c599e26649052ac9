// One segment: its size history (SEGMENT.HISTORY), persona (lift bars of
// SEGMENT.PROFILE), lookalikes (SEGMENT.LOOKALIKE), a sample of members,
// an overlap heatmap against chosen segments (SEGMENT.OVERLAP), and the
// live feed of enters and exits (server-sent events).

import { h, fill, api, isAbort, num, bytes, ago, dateTime, clock, hrefs, predicate, customerLink, errorBox, section } from "./lib.js";
import { liftBars, historyChart, heatmap, loadUPlot } from "./charts.js";

const FEED_ROWS = 100;
const FEED_BACKLOG = 30;

export async function segmentView(view, ctx) {
  const name = ctx.params[0];
  const [info, all, srv] = await Promise.all([
    api(`/api/segments/${encodeURIComponent(name)}`, { signal: ctx.signal }),
    api("/api/segments", { signal: ctx.signal }),
    api("/api/info", { signal: ctx.signal }),
  ]);
  const disposers = [];
  const enc = encodeURIComponent(name);

  // ---- header ----
  let card = info.cardinality;
  let cardVersion = info.version;
  const cardEl = h("span", { id: "seg-card", class: "big" }, num(card));
  const versionEl = h("span", { id: "seg-version" }, num(info.version));
  const share = h("span", { class: "muted" });
  const setShare = () => (share.textContent = srv.entities ? ` ${((100 * card) / srv.entities).toFixed(1)}% of ${num(srv.entities)} customers` : "");
  setShare();
  const head = h(
    "section",
    { class: "card seg-head" },
    h("div", { class: "seg-title" }, h("h1", {}, name), info.time_relative ? h("span", { class: "badge moving" }, "time-relative") : null),
    h("pre", { class: "expr-show" }, info.expr),
    h(
      "div",
      { class: "facts" },
      h("span", {}, cardEl, " customers", share),
      h("span", {}, "version ", versionEl),
      h("span", { title: dateTime(info.updated) }, "changed ", ago(info.updated, srv.time)),
      h("span", { title: dateTime(info.created) }, "created ", dateTime(info.created)),
      h("span", {}, bytes(info.bytes), " memory"),
      info.segments.length ? h("span", {}, "uses ", info.segments.map((s, i) => [i ? ", " : "", h("a", { href: hrefs.segment(s) }, "@" + s)])) : null,
    ),
    h("div", { class: "actions" }, h("a", { class: "button secondary", href: hrefs.builder(info.expr) }, "Open in builder"), h("a", { class: "button secondary", href: hrefs.builder("@" + name) }, "Break it down")),
  );

  // ---- size history ----
  const chartEl = h("div", { id: "history-chart", class: "chart" });
  const ranges = [
    ["Day", 86400],
    ["Month", 30 * 86400],
    ["All", 0],
  ];
  let history = [];
  let range = 0;
  let disposeChart = () => {};
  const drawChart = () => {
    disposeChart();
    fill(chartEl);
    const since = range ? srv.time - range : 0;
    const pts = history.filter((p) => p[0] >= since);
    // The size just before the range starts holds at its start.
    const before = history.filter((p) => p[0] < since).pop();
    if (before) pts.unshift([since, before[1]]);
    disposeChart = historyChart(chartEl, pts, Math.floor(Date.now() / 1000));
  };
  disposers.push(() => disposeChart());
  const rangeBtns = h(
    "div",
    { class: "seg-buttons", role: "group" },
    ranges.map(([label, secs]) =>
      h(
        "button",
        {
          type: "button",
          class: secs === range ? "active" : "",
          onclick: (ev) => {
            range = secs;
            for (const b of rangeBtns.children) b.classList.toggle("active", b === ev.target);
            drawChart();
          },
        },
        label,
      ),
    ),
  );

  // ---- persona, lookalikes, sample ----
  const persona = h("div", { id: "persona" }, h("p", { class: "muted" }, "Loading the persona…"));
  const lookalikes = h("div", { id: "lookalikes" }, h("p", { class: "muted" }, "Loading…"));
  const sample = h("ul", { id: "seg-sample", class: "keys" });

  // ---- overlap ----
  const others = all.segments.map((s) => s.name).filter((n) => n !== name);
  const chosen = new Set(others.slice(0, 3));
  const overlapOut = h("div", { id: "overlap" });
  const picks = h(
    "div",
    { class: "chips picks" },
    others.length
      ? others.map((o) =>
          h(
            "label",
            { class: "chip" },
            h("input", {
              type: "checkbox",
              value: o,
              checked: chosen.has(o),
              dataset: { segment: o },
              onchange: (ev) => {
                if (ev.target.checked) chosen.add(o);
                else chosen.delete(o);
                loadOverlap();
              },
            }),
            " ",
            o,
          ),
        )
      : h("span", { class: "muted" }, "No other segment to compare with yet."),
  );

  // ---- live feed ----
  const feedStatus = h("span", { id: "feed-status", class: "feed-status", dataset: { state: "connecting" } }, "connecting…");
  const feedList = h("ol", { id: "feed", class: "feed" });
  const feedEmpty = h("p", { class: "muted feed-empty" }, "Enters and exits show here as writes move customers in and out.");

  fill(
    view,
    head,
    h("section", { class: "card" }, h("div", { class: "card-head" }, h("h2", {}, "Size over time"), rangeBtns), chartEl),
    h(
      "div",
      { class: "grid two" },
      section("Persona: what sets its members apart", h("p", { class: "muted small" }, "Lift is the share of members holding a value over its share among all customers."), persona),
      h("section", { class: "card" }, h("div", { class: "card-head" }, h("h2", {}, "Live enters and exits"), feedStatus), feedEmpty, feedList),
    ),
    h(
      "div",
      { class: "grid two" },
      section("Overlap with other segments", picks, overlapOut),
      h(
        "div",
        { class: "stack" },
        section("Lookalikes: non-members most like the members", lookalikes),
        section("A sample of members", sample),
      ),
    ),
  );

  // ---- loading ----
  const guard = (p, el) =>
    p.catch((err) => {
      if (!isAbort(err)) fill(el, errorBox(err));
    });

  const loadHistory = Promise.all([api(`/api/segments/${enc}/history`, { signal: ctx.signal }), loadUPlot()]).then(([r]) => {
    history = r.history;
    if (ctx.current()) drawChart();
  });

  const loadPersona = api(`/api/segments/${enc}/profile`, { params: { limit: 15 }, signal: ctx.signal }).then((r) => {
    if (r.profile.length === 0) {
      fill(persona, h("p", { class: "muted" }, card ? "No value stands out (each needs at least 1% of the members)." : "The segment is empty."));
      return;
    }
    fill(persona, liftBars(r.profile, (e) => hrefs.builder(`@${name} AND ${predicate(e.field, e.value)}`)));
  });

  const loadLookalikes = api(`/api/segments/${enc}/lookalike`, { params: { count: 10 }, signal: ctx.signal }).then((r) => {
    if (r.lookalikes.length === 0) {
      fill(lookalikes, h("p", { class: "muted" }, "No lookalike: no non-member holds the values that set the members apart."));
      return;
    }
    fill(
      lookalikes,
      h("table", { class: "list compact" }, h("thead", {}, h("tr", {}, h("th", {}, "Customer"), h("th", { class: "num" }, "Score"))), h("tbody", {}, r.lookalikes.map((l) => h("tr", {}, h("td", {}, customerLink(l.key)), h("td", { class: "num" }, l.score.toFixed(2)))))),
    );
  });

  const loadSample = api(`/api/segments/${enc}/sample`, { params: { count: 10, seed: Math.floor(Math.random() * 1e9) }, signal: ctx.signal }).then((r) => {
    fill(sample, r.keys.length ? r.keys.map((k) => h("li", {}, customerLink(k))) : h("li", { class: "muted" }, "No members."));
  });

  let overlapSeq = 0;
  async function loadOverlap() {
    const names = [name, ...others.filter((o) => chosen.has(o))];
    const my = ++overlapSeq;
    overlapOut.dataset.state = "loading";
    if (names.length < 2) {
      fill(overlapOut, h("p", { class: "muted" }, "Choose segments above to see how many customers they share with this one."));
      overlapOut.dataset.state = "ready";
      return;
    }
    try {
      const r = await api("/api/overlap", { params: { name: names }, signal: ctx.signal });
      if (my !== overlapSeq) return;
      fill(overlapOut, heatmap(r.names, r.matrix, hrefs.segment), h("p", { class: "muted small" }, "Each cell: the customers of the row's segment also in the column's, and their share of the row."));
      overlapOut.dataset.state = "ready";
    } catch (err) {
      if (!isAbort(err)) fill(overlapOut, errorBox(err));
    }
  }

  // ---- the live feed ----
  let lastShown = 0;
  // A stream opened before the page's load event would hold that event
  // back (the browser would show the page as loading for ever).
  if (document.readyState !== "complete") await new Promise((r) => window.addEventListener("load", r, { once: true }));
  if (!ctx.current()) return () => disposers.forEach((d) => d());
  const es = new EventSource(`/api/segments/${enc}/events?since=${Math.max(0, info.version - FEED_BACKLOG)}`);
  const setStatus = (state, text) => {
    feedStatus.dataset.state = state;
    feedStatus.textContent = text;
  };
  es.addEventListener("ready", () => setStatus("live", "● live"));
  es.addEventListener("dropped", () => setStatus("reconnecting", "fell behind, catching up…"));
  es.addEventListener("reset", (ev) => {
    const r = JSON.parse(ev.data);
    feedList.prepend(h("li", { class: "feed-note muted" }, r.reason));
  });
  es.onerror = () => setStatus(es.readyState === EventSource.CLOSED ? "closed" : "reconnecting", es.readyState === EventSource.CLOSED ? "closed" : "reconnecting…");
  es.onmessage = (ev) => {
    const c = JSON.parse(ev.data);
    if (c.version <= lastShown) return;
    lastShown = c.version;
    feedEmpty.hidden = true;
    feedList.prepend(
      h(
        "li",
        { class: "feed-row " + c.change, dataset: { key: c.key, change: c.change, version: String(c.version) } },
        h("time", { title: dateTime(c.time) }, clock(c.time)),
        h("span", { class: "badge " + c.change }, c.change === "enter" ? "enter" : "exit"),
        customerLink(c.key),
        h("span", { class: "muted" }, "v" + c.version),
      ),
    );
    while (feedList.children.length > FEED_ROWS) feedList.lastChild.remove();
    if (c.version > cardVersion) {
      cardVersion = c.version;
      card += c.change === "enter" ? 1 : -1;
      cardEl.textContent = num(card);
      versionEl.textContent = num(c.version);
      setShare();
    }
  };
  disposers.push(() => es.close());

  await Promise.allSettled([guard(loadHistory, chartEl), guard(loadPersona, persona), guard(loadLookalikes, lookalikes), guard(loadSample, sample), loadOverlap()]);
  ctx.ready();
  return () => disposers.forEach((d) => d());
}
