// Charts: horizontal bars and the overlap heatmap are HTML, sparklines are
// SVG, and the size history is a uPlot time series. uPlot comes first in
// the page's scripts, run on its first use (window.segdUPlot()).

import { h, num, pct, dateTime } from "./lib.js";

const SVG = "http://www.w3.org/2000/svg";

// bars draws labelled horizontal bars: items [{label, value, title, href, note}].
// max defaults to the largest value; format writes the number.
export function bars(items, { max, format = num, cls = "" } = {}) {
  const top = max || Math.max(1, ...items.map((i) => i.value));
  return h(
    "div",
    { class: "bars " + cls },
    items.map((it) => {
      const w = Math.max(0.5, (100 * it.value) / top);
      const label = it.href ? h("a", { href: it.href, class: "bar-label", title: it.title || it.label }, it.label) : h("span", { class: "bar-label", title: it.title || it.label }, it.label);
      return h(
        "div",
        { class: "bar-row", dataset: { value: String(it.value) } },
        label,
        h("span", { class: "bar-track" }, h("span", { class: "bar-fill", style: { width: w.toFixed(2) + "%" } })),
        h("span", { class: "bar-num" }, format(it.value), it.note ? h("span", { class: "muted" }, " " + it.note) : null),
      );
    }),
  );
}

// liftBars draws a persona: a bar per value, its length the lift on a log
// scale centred on 1 (no lift), with the shares written out.
export function liftBars(entries, hrefOf) {
  const maxLog = Math.max(Math.log(2), ...entries.map((e) => Math.abs(Math.log(Math.max(e.lift, 1e-6)))));
  return h(
    "div",
    { class: "bars lift" },
    entries.map((e) => {
      const l = Math.log(Math.max(e.lift, 1e-6)) / maxLog;
      const w = Math.max(0.5, Math.abs(l) * 100);
      const label = `${e.field} = ${e.value}`;
      return h(
        "div",
        { class: "bar-row", dataset: { lift: String(e.lift) } },
        h("a", { href: hrefOf(e), class: "bar-label", title: "Open " + label + " in the builder" }, label),
        h("span", { class: "bar-track" }, h("span", { class: "bar-fill " + (l >= 0 ? "up" : "down"), style: { width: w.toFixed(2) + "%" } })),
        h(
          "span",
          { class: "bar-num" },
          h("strong", {}, "×" + e.lift.toFixed(2)),
          h("span", { class: "muted" }, ` ${pct(e.share_in_segment)} vs ${pct(e.share_overall)} · ${num(e.in_segment)}`),
        ),
      );
    }),
  );
}

// sparkline draws a segment's size over time as a small SVG step line;
// points are [[time, cardinality]…], extended to now with the last value.
export function sparkline(points, now, { width = 160, height = 32 } = {}) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("class", "spark");
  if (!points || points.length === 0) return svg;
  const pts = points.slice();
  if (now > pts[pts.length - 1][0]) pts.push([now, pts[pts.length - 1][1]]);
  const t0 = pts[0][0];
  const t1 = Math.max(pts[pts.length - 1][0], t0 + 1);
  let lo = Math.min(...pts.map((p) => p[1]));
  let hi = Math.max(...pts.map((p) => p[1]));
  if (hi === lo) {
    lo = Math.max(0, lo - 1);
    hi = hi + 1;
  }
  const x = (t) => 1 + ((t - t0) / (t1 - t0)) * (width - 2);
  const y = (v) => height - 2 - ((v - lo) / (hi - lo)) * (height - 4);
  let d = `M${x(pts[0][0]).toFixed(1)},${y(pts[0][1]).toFixed(1)}`;
  for (let i = 1; i < pts.length; i++) {
    d += `H${x(pts[i][0]).toFixed(1)}V${y(pts[i][1]).toFixed(1)}`;
  }
  const area = document.createElementNS(SVG, "path");
  area.setAttribute("d", `${d}V${height}H${x(pts[0][0]).toFixed(1)}Z`);
  area.setAttribute("class", "spark-area");
  const line = document.createElementNS(SVG, "path");
  line.setAttribute("d", d);
  line.setAttribute("class", "spark-line");
  const title = document.createElementNS(SVG, "title");
  title.textContent = `${num(pts[0][1])} on ${dateTime(pts[0][0])} → ${num(pts[pts.length - 1][1])} now`;
  svg.append(title, area, line);
  return svg;
}

// loadUPlot returns uPlot: segd's bundle of the page's scripts starts with
// it (explorer/bundle.go), and its styles with the page's.
export function loadUPlot() {
  try {
    return Promise.resolve(window.segdUPlot());
  } catch (err) {
    return Promise.reject(new Error("the charting library (uPlot) is missing from the page's scripts: " + err.message));
  }
}

// countIncrs are the steps of an axis of customers: whole numbers only.
const countIncrs = [];
for (let p = 1; p <= 1e15; p *= 10) countIncrs.push(p, 2 * p, 5 * p);

// historyChart draws a segment's size history with uPlot in el; current
// is the size the page shows now ([time, size], or null): the chart ends
// on it, whatever the history read said. It returns a function that
// disposes of the chart. el.dataset.yTicks holds the y axis' ticks.
export function historyChart(el, points, now, current = null) {
  const pts = points.slice();
  if (current && (pts.length === 0 || pts[pts.length - 1][1] !== current[1])) pts.push([Math.max(current[0], pts.length ? pts[pts.length - 1][0] : 0), current[1]]);
  if (pts.length && now > pts[pts.length - 1][0]) pts.push([now, pts[pts.length - 1][1]]);
  const data = [pts.map((p) => p[0]), pts.map((p) => p[1])];
  const uPlot = window.segdUPlot?.();
  if (!uPlot || pts.length === 0) {
    el.append(h("p", { class: "muted" }, "No history yet: the size is recorded each time the segment changes."));
    return () => {};
  }
  const opts = {
    width: Math.max(320, el.clientWidth || 800),
    height: 240,
    legend: { show: true },
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: true }, y: { range: (u, lo, hi) => [Math.max(0, Math.floor(lo - (hi - lo) * 0.1 - 1)), Math.ceil(hi + (hi - lo) * 0.1 + 1)] } },
    axes: [
      { stroke: "#5c6370", grid: { stroke: "#eef0f3" } },
      {
        stroke: "#5c6370",
        grid: { stroke: "#eef0f3" },
        size: 70,
        incrs: countIncrs,
        values: (u, vals) => {
          el.dataset.yTicks = vals.join(" ");
          return vals.map((v) => num(v));
        },
      },
    ],
    series: [
      { value: (u, v) => (v == null ? "–" : dateTime(v)) },
      {
        label: "members",
        stroke: "#3b5bdb",
        width: 2,
        fill: "rgba(59,91,219,0.10)",
        paths: uPlot.paths.stepped({ align: 1 }),
        points: { show: pts.length < 60 },
        value: (u, v) => (v == null ? "–" : num(v)),
      },
    ],
  };
  // The legend shows the size now until the cursor points elsewhere.
  const last = data[0].length - 1;
  opts.hooks = { ready: [(u) => u.setLegend({ idx: last })], setCursor: [(u) => u.cursor.idx == null && u.setLegend({ idx: last })] };
  const chart = new uPlot(opts, data, el);
  // Drawn again only when the width changes (a resize observer is also
  // called once at first, with the width the chart was drawn at).
  let width = opts.width;
  const ro = new ResizeObserver(() => {
    const w = Math.max(320, el.clientWidth);
    if (w === width) return;
    width = w;
    chart.setSize({ width, height: 240 });
  });
  ro.observe(el);
  return () => {
    ro.disconnect();
    chart.destroy();
  };
}

// heatmap draws the overlap matrix: each cell is the intersection, shaded
// by its share of the row's segment.
export function heatmap(names, matrix, hrefOf) {
  return h(
    "table",
    { class: "heatmap" },
    h("thead", {}, h("tr", {}, h("th", {}, ""), names.map((n) => h("th", { scope: "col", title: n }, h("a", { href: hrefOf(n) }, n))))),
    h(
      "tbody",
      {},
      names.map((row, i) =>
        h(
          "tr",
          {},
          h("th", { scope: "row", title: row }, h("a", { href: hrefOf(row) }, row)),
          matrix[i].map((v, j) => {
            const base = matrix[i][i];
            const share = base > 0 ? v / base : 0;
            const alpha = i === j ? 0 : 0.08 + 0.82 * share;
            const td = h(
              "td",
              {
                class: i === j ? "diag" : "",
                title: i === j ? `${row}: ${num(v)} members` : `${num(v)} members of ${row} are in ${names[j]} (${pct(share)} of ${row})`,
                dataset: { value: String(v) },
                style: i === j ? {} : { backgroundColor: `rgba(59,91,219,${alpha.toFixed(3)})`, color: share > 0.55 ? "#fff" : "" },
              },
              h("span", { class: "cell-num" }, num(v)),
              i === j ? null : h("span", { class: "cell-pct" }, pct(share, 0)),
            );
            return td;
          }),
        ),
      ),
    ),
  );
}
