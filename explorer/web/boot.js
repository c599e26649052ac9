// Starts the first view's requests as soon as the page is parsed, while its
// scripts load (they would otherwise wait for the scripts, 50 to 100 ms on
// a slow machine), and reads each answer as it comes: the view then finds
// its data read and draws it in the same task as the scripts run, before
// the browser's first paint, rather than after a few more turns of the
// page's event loop (20 to 40 ms on a small machine). lib.js's api() takes
// each answer once, for the same address, instead of asking again; answers
// the first view does not take are dropped when another view opens or
// after 10 s. segd writes this script into the page (assets.go),
// before the style sheet (a script after it would wait for it), so that it
// runs before anything else loads. It reads only the address and never
// writes.
(() => {
  const raw = location.hash.replace(/^#/, "") || "/segments";
  const q = raw.indexOf("?");
  const path = q >= 0 ? raw.slice(0, q) : raw;
  const query = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : "");
  const pending = new Map();
  const ask = (p, params) => {
    const url = apiURL(p, params);
    const res = fetch(url, { credentials: "same-origin" }).then(readAnswer);
    res.catch(() => {}); // a failure is the taker's to report
    pending.set(url.href, res);
    return res;
  };
  let seed = null;
  let m;
  if (path === "/fields") {
    ask("/api/fields", { top: 8 });
  } else if (path === "/builder") {
    ask("/api/fields");
    ask("/api/segments");
    const expr = (query.get("expr") || "").trim();
    if (expr) ask("/api/query/count", { expr });
  } else if (path === "/segments") {
    ask("/api/segments", { history: 80 });
  } else if ((m = path.match(/^\/segment\/(.+)$/))) {
    let name = null;
    try {
      name = decodeURIComponent(m[1]);
    } catch {}
    if (name !== null) {
      const enc = encodeURIComponent(name);
      ask("/api/segments/" + enc);
      ask("/api/segments/" + enc + "/history");
      seed = Math.floor(Math.random() * 1e9);
      ask("/api/segments/" + enc + "/sample", { count: 10, seed });
      ask("/api/segments");
      ask("/api/overlap", { name, others: 3 });
    }
  } else if ((m = path.match(/^\/customer\/(.+)$/))) {
    try {
      ask("/api/entity", { key: decodeURIComponent(m[1]) });
    } catch {}
  }
  ask("/api/info"); // the header's counts, on every view
  setTimeout(() => pending.clear(), 10000);

  window.segdBoot = {
    // take returns the early answer for a GET of href, once: a promise of
    // {ok, status, body}.
    take(href) {
      const r = pending.get(href);
      pending.delete(href);
      return r;
    },
    // drop forgets every early answer: once the first view has taken
    // its own, and after a 401 (they were asked without the password).
    drop: () => pending.clear(),
    // seed is the sample's seed asked for early, once.
    seed() {
      const s = seed;
      seed = null;
      return s;
    },
  };

  // readAnswer reads a response as lib.js's api() does: {ok, status, body},
  // body null when it is not JSON.
  function readAnswer(res) {
    const answer = (body) => ({ ok: res.ok, status: res.status, body });
    return res.json().then(answer, () => answer(null));
  }

  // apiURL is the address of an API route with its parameters, built as
  // lib.js's api() builds it, so that both name an answer alike.
  function apiURL(p, params) {
    const url = new URL(p, location.origin);
    for (const [k, v] of Object.entries(params || {})) {
      if (v === undefined || v === null || v === "") continue;
      if (Array.isArray(v)) v.forEach((x) => url.searchParams.append(k, x));
      else url.searchParams.set(k, v);
    }
    return url;
  }
})();
