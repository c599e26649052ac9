// One customer: ENT.GET (every field it holds) and SEGMENT.OF (the saved
// segments it is in).

import { h, fill, api, num, kindBadge, hrefs, predicate } from "./lib.js";

export async function customerView(view, ctx) {
  const key = ctx.params[0];
  const r = await api("/api/entity", { params: { key }, signal: ctx.signal });
  const head = h("div", { class: "page-head" }, h("h1", {}, "Customer ", h("code", { id: "customer-key" }, key)));
  if (!r.found) {
    fill(view, head, h("div", { class: "card empty", id: "customer-missing" }, h("p", {}, "No customer has this key. Keys are exact: ", h("code", {}, "u:42"), " and ", h("code", {}, "U:42"), " are different customers.")));
    ctx.section("customer");
    ctx.complete();
    return;
  }
  const rows = r.fields.map((f) => h("tr", { dataset: { field: f.field } }, h("th", { scope: "row" }, h("code", {}, f.field)), h("td", {}, kindBadge(f.kind)), h("td", { class: "value" }, valueOf(f))));
  fill(
    view,
    head,
    h(
      "div",
      { class: "grid two wide-left" },
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Fields"),
        rows.length ? h("table", { class: "list kv", id: "customer-fields" }, h("tbody", {}, rows)) : h("p", { class: "muted" }, "This customer holds no value (it lives until ENT.DEL)."),
      ),
      h(
        "section",
        { class: "card" },
        h("h2", {}, "In segments"),
        r.segments.length
          ? h("ul", { class: "chips", id: "customer-segments" }, r.segments.map((s) => h("li", {}, h("a", { class: "chip seg", href: hrefs.segment(s) }, s))))
          : h("p", { class: "muted", id: "customer-segments" }, "In no saved segment."),
      ),
    ),
  );
  ctx.section("customer");
  ctx.complete();
}

function valueOf(f) {
  switch (f.kind) {
    case "TAGS":
      return h("span", { class: "chips" }, f.value.map((t) => h("a", { class: "chip", href: hrefs.builder(predicate(f.field, t)) }, t)));
    case "EVENT":
      return h(
        "table",
        { class: "events" },
        h(
          "tbody",
          {},
          f.value.map((e) => h("tr", {}, h("td", {}, e.value === "*" ? h("em", {}, "all occurrences") : e.value), h("td", { class: "num" }, num(e.amount)))),
        ),
      );
    case "INT":
      return h("a", { href: hrefs.builder(`${f.field} = ${f.value}`) }, num(f.value));
    default:
      return h("a", { href: hrefs.builder(predicate(f.field, f.value)) }, f.value);
  }
}
