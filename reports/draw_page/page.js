/* The draw page's view: shows the embedded record (or one the reader opens), runs DrawVerifier.verify on it and
 * shows the verdict. Every text comes from the page's texts (bot/texts/page.py); every value from a record is put
 * in the page as text, never as markup, so a hostile record cannot inject anything.
 *
 * For tests and the benchmark the body carries data-state (loading, checking, done, error), data-verdict (ok, bad)
 * and data-ms; each difference is an <li data-field="…"> in #differences.
 */
(function () {
  "use strict";
  const T = JSON.parse(document.getElementById("page-texts").textContent);
  const own = (o, k) => o !== null && typeof o === "object" && Object.prototype.hasOwnProperty.call(o, k);
  const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  const $ = (id) => document.getElementById(id);
  let names = { targets: {}, inspectors: {} };
  let current = 0;

  function tx(key, vars) {
    const text = own(T, "page." + key) ? T["page." + key] : key;
    return text.replace(/\{(\w+)\}/g, (m, k) => (vars && own(vars, k) ? String(vars[k]) : m));
  }

  // h("p", {className: "x", dataset: {field: "y"}}, ["text", node, …])
  function h(tag, attrs, children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "dataset") Object.assign(e.dataset, v);
      else if (k === "text") e.textContent = v;
      else e[k] = v;
    }
    for (const c of children || []) if (c !== null && c !== undefined) e.append(c);
    return e;
  }

  function clear(e) {
    while (e.firstChild) e.removeChild(e.firstChild);
    return e;
  }

  const str = (v) => (typeof v === "string" ? v : v === null || v === undefined ? "" : JSON.stringify(v));
  const targetName = (uscc) => (typeof names.targets[uscc] === "string" ? names.targets[uscc] : "");
  const inspectorName = (cert) => (typeof names.inspectors[cert] === "string" ? names.inspectors[cert] : "");

  function targetLabel(uscc) {
    const n = targetName(uscc);
    return n ? `${n}（${str(uscc)}）` : str(uscc);
  }

  function inspectorLabel(cert) {
    const n = inspectorName(cert);
    return n ? `${n}（${str(cert)}）` : str(cert);
  }

  // A value named in a difference, in words: a code with its name, an inspector with their department.
  function describe(v) {
    if (v === null || v === undefined) return "—";
    if (typeof v === "string") return inspectorName(v) ? inspectorLabel(v) : targetLabel(v);
    if (Array.isArray(v)) {
      const shown = v.slice(0, 6).map(describe).join("、");
      return v.length > 6 ? `${shown}…（${v.length}）` : `[${shown}]`;
    }
    if (isObject(v) && typeof v.cert_no === "string") return `${str(v.department)} ${inspectorLabel(v.cert_no)}`;
    return JSON.stringify(v);
  }

  function percent(ratio) {
    const f = DrawVerifier.decimalFraction(ratio);
    if (!f || f.den === 0n) return str(ratio);
    const n = f.num * 100n;
    if (n % f.den === 0n) return String(n / f.den);
    const scaled = (n * 1000000n) / f.den;
    const whole = scaled / 1000000n, frac = String(scaled % 1000000n).padStart(6, "0").replace(/0+$/, "");
    return `${whole}.${frac}`;
  }

  function ruleOf(sampling, stratum) {
    if (!isObject(sampling)) return tx("rule.none");
    if (isObject(sampling.by_class) && own(sampling.by_class, stratum)) {
      return tx("rule.ratio", { percent: percent(sampling.by_class[stratum]) });
    }
    if (own(sampling, "ratio")) return tx("rule.ratio", { percent: percent(sampling.ratio) });
    if (own(sampling, "count")) return tx("rule.count", { count: str(sampling.count) });
    return tx("rule.none");
  }

  function stratumName(s) {
    if (s === "*") return tx("stratum.all");
    if (s === "-") return tx("stratum.none");
    return s;
  }

  // ------------------------------------------------------------------------------------------- sections
  function renderHeader(record, fileName) {
    const campaign = isObject(record.campaign) ? record.campaign : {};
    const number = str(campaign.number), title = str(campaign.title);
    document.title = tx("title", { number: number || str(record.draw_id) });
    $("campaign").textContent = number || title ? `${number} ${title}`.trim() : tx("no_campaign");
    const note = $("file-note");
    note.hidden = !fileName;
    note.textContent = fileName ? tx("file_shown", { name: fileName }) : "";
    const facts = clear($("facts"));
    const row = (label, value, mono) => {
      facts.append(h("dt", { text: label }), h("dd", { text: value, className: mono ? "mono" : "" }));
    };
    if (own(record, "draw_id")) row(tx("draw_id"), str(record.draw_id));
    row(tx("made_at"), str(names.made_at) || tx("unknown"));
    row(tx("made_by"), str(names.made_by) || tx("unknown"));
    row(tx("seed"), str(record.seed), true);
    const source = record.seed_source === "public" ? tx("source.public", { text: str(record.public_text) })
      : record.seed_source === "secrets" ? tx("source.secrets") : str(record.seed_source);
    row(tx("seed_source"), source);
    const sup = $("superseded");
    sup.hidden = !names.superseded;
    sup.textContent = names.superseded ? tx("superseded", { new: str(names.superseded.by), reason: str(names.superseded.reason) }) : "";
  }

  function targetsPool(record) {
    return isObject(record.pools) && isObject(record.pools.targets) ? record.pools.targets : {};
  }

  function renderRule(record) {
    const box = clear($("rule-box"));
    const params = isObject(record.params) ? record.params : {};
    box.append(h("h2", { text: tx("rule") }));
    const body = h("tbody", { id: "strata" });
    for (const [s, list] of Object.entries(targetsPool(record))) {
      body.append(h("tr", { dataset: { stratum: s } }, [
        h("td", { text: stratumName(s) }),
        h("td", { className: "num", text: String(Array.isArray(list) ? list.length : 0) }),
        h("td", { text: ruleOf(params.sampling, s) }),
        h("td", { className: "num drawn", text: "…" }),
      ]));
    }
    const head = h("tr", {}, ["stratum", "candidates", "rule_col", "drawn"].map((k) => h("th", { text: tx(k) })));
    box.append(h("div", { className: "scroll" }, [h("table", {}, [h("thead", {}, [head]), body])]));
    const k = str(params.inspectors_per_department);
    box.append(h("p", { text: params.targets_per_group ? tx("per_group", { count: str(params.targets_per_group), k })
      : tx("one_group", { k }) }));
  }

  function renderDigests(record) {
    const box = clear($("digest-box"));
    box.append(h("h2", { text: tx("digests") }));
    const digests = isObject(record.digests) ? record.digests : {};
    const pools = isObject(record.pools) ? record.pools : {};
    const line = (field, label, value) => box.append(h("div", { className: "digest", dataset: { field } }, [
      h("span", { className: "mark" }), h("span", { text: label + "：" }), h("span", { className: "mono", text: str(value) }),
    ]));
    const total = Object.values(targetsPool(record)).reduce((a, l) => a + (Array.isArray(l) ? l.length : 0), 0);
    line("digests.targets", tx("digest.targets", { count: total }), digests.targets);
    const insp = isObject(pools.inspectors) ? pools.inspectors : {};
    const recInsp = isObject(digests.inspectors) ? digests.inspectors : {};
    for (const dept of Object.keys(insp)) {
      line(`digests.inspectors[${dept}]`, tx("digest.inspectors", { department: dept, count: Array.isArray(insp[dept]) ? insp[dept].length : 0 }),
        recInsp[dept]);
    }
    line("digests.conflicts", tx("digest.conflicts", { count: Array.isArray(pools.conflicts) ? pools.conflicts.length : 0 }),
      digests.conflicts);
  }

  function groupBody(g) {
    const members = Array.isArray(g.inspectors) ? g.inspectors : [];
    const targets = Array.isArray(g.targets) ? g.targets : [];
    return [
      h("p", {}, [h("strong", { text: tx("leader") + "：" }), inspectorLabel(g.leader)]),
      h("h3", { text: tx("inspectors") }),
      h("ul", {}, members.map((m) => h("li", { text: `${str(isObject(m) ? m.department : "")}：${inspectorLabel(isObject(m) ? m.cert_no : m)}` }))),
      h("h3", { text: tx("targets") }),
      h("ol", {}, targets.map((u) => h("li", { text: targetLabel(u) }))),
    ];
  }

  function renderGroups(record) {
    const box = clear($("group-box"));
    const groups = isObject(record.result) && Array.isArray(record.result.groups) ? record.result.groups : [];
    const total = groups.reduce((a, g) => a + (isObject(g) && Array.isArray(g.targets) ? g.targets.length : 0), 0);
    box.append(h("h2", { text: tx("groups", { groups: groups.length, targets: total }) }));
    if (Object.keys(names.targets).length || Object.keys(names.inspectors).length) {
      box.append(h("p", { className: "note", text: tx("names_note") }));
    }
    const lazy = total > 3000;  // a huge draw: each group is built when it is opened
    for (const g of groups) {
      if (!isObject(g)) continue;
      const title = tx("group", { number: str(g.number) });
      if (!lazy) {
        box.append(h("div", { className: "group", dataset: { group: str(g.number) } }, [h("h3", { text: title }), ...groupBody(g)]));
        continue;
      }
      const details = h("details", { className: "group", dataset: { group: str(g.number) } }, [
        h("summary", { text: tx("show_group", { number: str(g.number), targets: Array.isArray(g.targets) ? g.targets.length : 0 }) }),
      ]);
      details.addEventListener("toggle", () => {
        if (details.open && details.children.length === 1) details.append(...groupBody(g));
      });
      box.append(details);
    }
  }

  function renderReplacements(record) {
    const box = clear($("replacement-box"));
    const reps = Array.isArray(record.replacements) ? record.replacements : [];
    if (!reps.length) return;
    box.append(h("h2", { text: tx("replacements") }));
    box.append(h("ul", {}, reps.map((r) => h("li", { dataset: { n: str(isObject(r) ? r.n : "") }, text: isObject(r) ? tx("replacement", {
      n: str(r.n), group: str(r.group), department: str(r.department), out: inspectorLabel(r.out), new: inspectorLabel(r.in),
      kind: tx(`kind.${r.kind}`) === `kind.${r.kind}` ? str(r.kind) : tx(`kind.${r.kind}`),
    }) : JSON.stringify(r) }))));
  }

  function renderStatic() {
    const how = clear($("how-box"));
    how.append(h("h2", { text: tx("how") }), h("p", { text: tx("how_text") }));
    const other = clear($("other-box"));
    const input = h("input", { type: "file", id: "record-file", accept: ".json,.html,.htm,application/json,text/html", className: "pick" });
    input.addEventListener("change", () => { if (input.files && input.files[0]) openFile(input.files[0]); });
    const drop = h("div", { id: "drop", className: "drop", text: tx("drop") });
    drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("over");
      const f = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
      if (f) openFile(f);
    });
    other.append(h("h2", { text: tx("other") }), h("label", {}, [tx("pick") + "：", input]), drop,
      h("p", { id: "file-error", className: "warning", hidden: true }));
    $("footer").textContent = tx("footer");
  }

  // ------------------------------------------------------------------------------------------- verdict
  function setVerdict(kind, word, detail) {
    const box = $("verdict-box");
    box.className = `verdict ${kind}`;
    $("verdict").textContent = word;
    $("verdict-detail").textContent = detail;
  }

  function showOutcome(record, out) {
    const list = clear($("differences"));
    const fields = new Set(out.differences.map((d) => d.field));
    for (const d of out.differences) {
      const vars = {};
      for (const [k, v] of Object.entries(d.vars || {})) vars[k] = ["recorded", "computed"].includes(k) ? describe(v) : str(v);
      list.append(h("li", { dataset: { field: d.field }, text: tx(d.key, vars) }));
    }
    const crypto = tx(`crypto.${out.facts.crypto}`);
    if (out.ok) {
      const reps = Array.isArray(record.replacements) && record.replacements.length
        ? tx("ok_replacements", { count: record.replacements.length }) : "";
      setVerdict("ok", tx("ok"), tx("ok_detail", { replacements: reps, seconds: (out.ms / 1000).toFixed(2), crypto }));
    } else {
      setVerdict("bad", tx("bad"), tx("bad_detail", { count: out.differences.length }));
    }
    if (out.facts.strata) {
      for (const s of out.facts.strata) {
        const row = document.querySelector(`#strata tr[data-stratum="${CSS.escape(s.stratum)}"] .drawn`);
        if (row) row.textContent = String(s.drawn);
      }
    }
    if (out.facts.digests) {
      for (const line of document.querySelectorAll("#digest-box .digest")) {
        const wrong = fields.has(line.dataset.field);
        const mark = line.querySelector(".mark");
        mark.textContent = wrong ? "✗" : "✓";
        mark.className = `mark ${wrong ? "wrong" : "good"}`;
      }
    }
    document.body.dataset.verdict = out.ok ? "ok" : "bad";
    document.body.dataset.ms = String(out.ms);
    document.body.dataset.crypto = out.facts.crypto;
    document.body.dataset.state = "done";
  }

  function show(record, fileName) {
    const token = ++current;
    document.body.dataset.state = "checking";
    delete document.body.dataset.verdict;
    const announced = isObject(record) && isObject(record.announced) ? record.announced : {};
    names = {
      targets: isObject(announced.targets) ? announced.targets : {},
      inspectors: isObject(announced.inspectors) ? announced.inspectors : {},
      made_at: announced.made_at, made_by: announced.made_by,
      superseded: isObject(announced.superseded) ? announced.superseded : null,
    };
    clear($("differences"));
    const total = isObject(record) ? Object.values(targetsPool(record)).reduce((a, l) => a + (Array.isArray(l) ? l.length : 0), 0) : 0;
    setVerdict("pending", tx("checking"), tx("checking_detail", { targets: total }));
    if (isObject(record)) {
      for (const part of [renderHeader, renderRule, renderDigests, renderGroups, renderReplacements]) {
        try { part(record, fileName); } catch (e) { /* a malformed part is named by the verdict below */ }
      }
    }
    // Let the page paint before the work starts.
    setTimeout(async () => {
      try {
        const out = await DrawVerifier.verify(record);
        if (token === current) showOutcome(record, out);
      } catch (e) {
        if (token !== current) return;
        setVerdict("error", tx("error"), tx("error_detail", { reason: String(e && e.message || e) }));
        document.body.dataset.state = "error";
      }
    }, 30);
  }

  // ------------------------------------------------------------------------------------------- other files
  function recordFromText(text) {
    const trimmed = text.replace(/^\uFEFF/, "").trim();
    if (trimmed.startsWith("{")) return JSON.parse(trimmed);
    const doc = new DOMParser().parseFromString(text, "text/html");
    const embedded = doc.getElementById("draw-record");
    if (!embedded) throw new Error(tx("file_not_record"));
    return JSON.parse(embedded.textContent);
  }

  function openFile(file) {
    const error = $("file-error");
    error.hidden = true;
    file.text().then((text) => {
      let record;
      try {
        record = recordFromText(text);
      } catch (e) {
        error.hidden = false;
        error.textContent = tx("file_bad", { name: file.name, reason: String(e && e.message || e) });
        return;
      }
      show(record, file.name);
      window.scrollTo(0, 0);
    });
  }

  renderStatic();
  let record;
  try {
    record = JSON.parse(document.getElementById("draw-record").textContent);
  } catch (e) {
    setVerdict("error", tx("error"), tx("error_detail", { reason: String(e.message || e) }));
    document.body.dataset.state = "error";
    return;
  }
  show(record, null);
})();
