/* 双随机抽查 draw verifier, algorithm v1 — a second implementation, in JavaScript, written from SPEC §5.
 *
 * It shares no code with the Python verifier (bot/rules/drawalgo.py): a citizen's browser re-runs the draw from
 * the published record alone. Everything it needs is in this file: SHA-256 and HMAC-SHA256 (FIPS 180-4, RFC 2104)
 * are implemented here for browsers without WebCrypto (钉钉's and WeChat's in-app browsers open local files
 * without `crypto.subtle`); where WebCrypto exists it computes the pool digests and the public seed, and a sample
 * of the HMAC keys is computed by both and compared before any result is trusted. Sample sizes use exact
 * rational arithmetic on BigInt: "0.07" is 7/100, never a binary float.
 *
 *   K(s) = HMAC-SHA256(key = seed bytes, msg = UTF-8 of s) as lowercase hex; "sort by K" is ascending.
 *
 * `verify(record)` resolves to {ok, differences: [{field, key, vars}], facts}. `field` names what differs
 * in the terms of the record (digests.targets, result.groups[2].targets, replacements[1].in, …); `key` and `vars`
 * word it through the page's texts. It never throws on a hostile record: a malformed one is a difference.
 */
(function (root) {
  "use strict";

  // ------------------------------------------------------------------------------------------- SHA-256
  const K256 = new Int32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]);
  const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

  // One compression of the 16 words in w[0..15] (w has room for 64) into the state st.
  function compress(st, w) {
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15], y = w[i - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    let a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K256[i] + w[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    st[0] = (st[0] + a) | 0; st[1] = (st[1] + b) | 0; st[2] = (st[2] + c) | 0; st[3] = (st[3] + d) | 0;
    st[4] = (st[4] + e) | 0; st[5] = (st[5] + f) | 0; st[6] = (st[6] + g) | 0; st[7] = (st[7] + h) | 0;
  }

  function loadBlock(w, bytes, off) {
    for (let j = 0; j < 16; j++, off += 4) {
      w[j] = (bytes[off] << 24) | (bytes[off + 1] << 16) | (bytes[off + 2] << 8) | bytes[off + 3];
    }
  }

  // SHA-256 of bytes, continuing from `state` after `done` bytes (a multiple of 64); returns the 8 state words.
  function sha256Words(bytes, state, done) {
    const st = Int32Array.from(state || IV);
    const w = new Int32Array(64);
    const n = bytes.length;
    let off = 0;
    for (; off + 64 <= n; off += 64) {
      loadBlock(w, bytes, off);
      compress(st, w);
    }
    const rest = n - off;
    const tail = new Uint8Array(rest + 9 <= 64 ? 64 : 128);
    tail.set(bytes.subarray(off));
    tail[rest] = 0x80;
    const bits = (n + (done || 0)) * 8;
    const end = tail.length;
    tail[end - 8] = 0; tail[end - 7] = 0; tail[end - 6] = 0;
    tail[end - 5] = Math.floor(bits / 0x100000000) & 0xff;
    tail[end - 4] = (bits >>> 24) & 0xff; tail[end - 3] = (bits >>> 16) & 0xff;
    tail[end - 2] = (bits >>> 8) & 0xff; tail[end - 1] = bits & 0xff;
    for (let t = 0; t < end; t += 64) {
      loadBlock(w, tail, t);
      compress(st, w);
    }
    return st;
  }

  function wordsHex(words, from, count) {
    let out = "";
    for (let i = from; i < from + count; i++) out += ((words[i] >>> 0) + 0x100000000).toString(16).slice(1);
    return out;
  }

  function wordsBytes(words) {
    const out = new Uint8Array(words.length * 4);
    for (let i = 0; i < words.length; i++) {
      const v = words[i];
      out[4 * i] = v >>> 24; out[4 * i + 1] = (v >>> 16) & 0xff; out[4 * i + 2] = (v >>> 8) & 0xff;
      out[4 * i + 3] = v & 0xff;
    }
    return out;
  }

  const encoder = new TextEncoder();
  const utf8 = (s) => encoder.encode(s);
  const sha256Hex = (bytes) => wordsHex(sha256Words(bytes), 0, 8);

  function hexBytes(hex) {
    const out = new Uint8Array(hex.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
    return out;
  }

  // HMAC-SHA256 of any key and message, the plain way (RFC 2104); used to check the fast path below.
  function hmacHex(key, msg) {
    if (key.length > 64) key = wordsBytes(sha256Words(key));
    const ipad = new Uint8Array(64 + msg.length), opad = new Uint8Array(64 + 32);
    for (let i = 0; i < 64; i++) { ipad[i] = (key[i] || 0) ^ 0x36; opad[i] = (key[i] || 0) ^ 0x5c; }
    ipad.set(msg, 64);
    opad.set(wordsBytes(sha256Words(ipad)), 64);
    return sha256Hex(opad);
  }

  // K(prefix + item) for many items under one seed: the key's pad blocks are compressed once, so an item costs
  // one inner compression per 64 bytes of message and one outer compression.
  class Ranker {
    constructor(seedHex) {
      const key = new Uint8Array(64);
      key.set(hexBytes(seedHex));
      const block = new Uint8Array(64);
      this.w = new Int32Array(64);
      this.inner0 = Int32Array.from(IV);
      this.outer0 = Int32Array.from(IV);
      for (let i = 0; i < 64; i++) block[i] = key[i] ^ 0x36;
      loadBlock(this.w, block, 0); compress(this.inner0, this.w);
      for (let i = 0; i < 64; i++) block[i] = key[i] ^ 0x5c;
      loadBlock(this.w, block, 0); compress(this.outer0, this.w);
      this.st = new Int32Array(8);
      this.ost = new Int32Array(8);
      this.buf = new Uint8Array(256);
    }

    // Writes K(prefix + item) as 8 words into out[off..off+7]; prefixBytes are written once per call of `keys`.
    _one(len, out, off) {
      const { buf, w, st, ost } = this;
      st.set(this.inner0);
      const blocks = ((len + 8) >>> 6) + 1;
      const end = blocks * 64;
      buf[len] = 0x80;
      buf.fill(0, len + 1, end - 4);
      const bits = (64 + len) * 8;
      buf[end - 4] = bits >>> 24; buf[end - 3] = (bits >>> 16) & 0xff;
      buf[end - 2] = (bits >>> 8) & 0xff; buf[end - 1] = bits & 0xff;
      for (let b = 0; b < end; b += 64) {
        loadBlock(w, buf, b);
        compress(st, w);
      }
      ost.set(this.outer0);
      for (let j = 0; j < 8; j++) w[j] = st[j];
      w[8] = 0x80000000 | 0; w[9] = 0; w[10] = 0; w[11] = 0; w[12] = 0; w[13] = 0; w[14] = 0; w[15] = 768;
      compress(ost, w);
      out.set(ost, off);
    }

    // K(prefix + items[i]) for every i, as 8 words each, in a new Uint32Array.
    keys(prefix, items) {
      const pre = utf8(prefix);
      const out = new Uint32Array(items.length * 8);
      for (let i = 0; i < items.length; i++) {
        const s = items[i];
        let len = pre.length + s.length;
        if (this.buf.length < len * 3 + 80) {
          this.buf = new Uint8Array(len * 3 + 80);
        }
        const buf = this.buf;
        buf.set(pre, 0);
        let ascii = true;
        for (let j = 0, p = pre.length; j < s.length; j++, p++) {
          const c = s.charCodeAt(j);
          if (c > 127) { ascii = false; break; }
          buf[p] = c;
        }
        if (!ascii) {
          const b = utf8(s);
          buf.set(b, pre.length);
          len = pre.length + b.length;
        }
        this._one(len, out, i * 8);
      }
      return out;
    }

    hex(s) {
      const out = this.keys("", [s]);
      return wordsHex(out, 0, 8);
    }
  }

  // ------------------------------------------------------------------------------------------- ordering
  const SURROGATE = /[\uD800-\uDFFF]/;

  // Code-point order (Python's default string order). JavaScript's `<` compares UTF-16 units, which differs only
  // when a character beyond U+FFFF meets one in U+E000–U+FFFF.
  function cpCompare(a, b) {
    if (a === b) return 0;
    if (!SURROGATE.test(a) && !SURROGATE.test(b)) return a < b ? -1 : 1;
    const x = Array.from(a), y = Array.from(b);
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      const p = x[i].codePointAt(0), q = y[i].codePointAt(0);
      if (p !== q) return p < q ? -1 : 1;
    }
    return x.length - y.length;
  }

  function sortedCopy(list) {
    for (let i = 1; i < list.length; i++) {
      if (cpCompare(list[i - 1], list[i]) > 0) return list.slice().sort(cpCompare);
    }
    return list;
  }

  function cmpKeys(d1, i1, d2, i2) {
    const a = i1 * 8, b = i2 * 8;
    for (let k = 0; k < 8; k++) {
      const x = d1[a + k], y = d2[b + k];
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  }

  // The n items with the smallest K(prefix + item), in that order: [{item, keys, at}] (keys[at*8..] is its K).
  function smallest(ranker, prefix, items, n) {
    if (n <= 0 || items.length === 0) return [];
    const keys = ranker.keys(prefix, items);
    let idx;
    if (n * 4 < items.length) {
      // Only items whose first key word is at most the n-th smallest first word can be among the n smallest.
      const first = new Uint32Array(items.length);
      for (let i = 0; i < items.length; i++) first[i] = keys[i * 8];
      const bound = first.slice().sort()[n - 1];
      idx = [];
      for (let i = 0; i < items.length; i++) if (first[i] <= bound) idx.push(i);
    } else {
      idx = Array.from(items, (_, i) => i);
    }
    idx.sort((p, q) => cmpKeys(keys, p, keys, q) || cpCompare(items[p], items[q]));
    return idx.slice(0, n).map((i) => ({ item: items[i], keys, at: i }));
  }

  // --------------------------------------------------------------------------------- exact decimal ratios
  const DECIMAL = /^[+-]?(?:\d+(?:_\d+)*(?:\.(?:\d+(?:_\d+)*)?)?|\.\d+(?:_\d+)*)(?:[eE][+-]?\d+(?:_\d+)*)?$/;

  // A decimal text (or a JSON number) as an exact fraction {num, den} of BigInts, or null.
  function decimalFraction(value) {
    let text;
    if (typeof value === "number") text = String(value);
    else if (typeof value === "string") text = value.trim();
    else return null;
    if (!DECIMAL.test(text)) return null;
    text = text.replace(/_/g, "");
    let sign = 1n;
    if (text[0] === "+" || text[0] === "-") { if (text[0] === "-") sign = -1n; text = text.slice(1); }
    let exp = 0;
    const e = text.search(/[eE]/);
    if (e >= 0) { exp = parseInt(text.slice(e + 1), 10); text = text.slice(0, e); }
    const dot = text.indexOf(".");
    let digits = text;
    if (dot >= 0) { digits = text.slice(0, dot) + text.slice(dot + 1); exp -= text.length - dot - 1; }
    if (Math.abs(exp) > 4000) return null;
    let num = sign * BigInt(digits || "0"), den = 1n;
    if (exp >= 0) num *= 10n ** BigInt(exp); else den = 10n ** BigInt(-exp);
    return { num, den };
  }

  // ------------------------------------------------------------------------------------------- checking
  class Malformed extends Error {
    constructor(key, vars) { super(key); this.key = key; this.vars = vars || {}; }
  }

  const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  const isInt = (v) => typeof v === "number" && Number.isInteger(v);
  const own = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
  const show = (v) => {
    const t = JSON.stringify(v === undefined ? null : v);
    return t.length <= 120 ? t : t.slice(0, 117) + "…";
  };

  function label(v, what) {
    if (typeof v !== "string" || v === "" || /[|\n\r]/.test(v)) throw new Malformed("bad.label", { what, value: show(v) });
  }

  function entries(list, what) {
    if (!Array.isArray(list)) throw new Malformed("bad.list", { what });
    for (const e of list) {
      if (typeof e !== "string" || /[|\n\r]/.test(e)) throw new Malformed("bad.entry", { what, value: show(e) });
    }
    return list;
  }

  function unique(list, what) {
    const seen = new Set();
    for (const e of list) {
      if (e === "") throw new Malformed("bad.empty", { what });
      if (seen.has(e)) throw new Malformed("bad.twice", { what, value: e });
      seen.add(e);
    }
  }

  function ratio(v, where) {
    if (typeof v !== "string" && typeof v !== "number") throw new Malformed("bad.ratio", { where, value: show(v) });
    const f = decimalFraction(v);
    if (!f || f.num < 0n || f.num > f.den) throw new Malformed("bad.ratio", { where, value: show(v) });
    return f;
  }

  function count(v, where) {
    if (typeof v === "string" && /^\s*\d+\s*$/.test(v)) v = parseInt(v, 10);
    if (!isInt(v) || v < 0) throw new Malformed("bad.count", { where, value: show(v) });
    return v;
  }

  function parseSampling(s) {
    if (!isObject(s)) throw new Malformed("bad.sampling", {});
    for (const k of Object.keys(s)) if (!["ratio", "count", "by_class"].includes(k)) throw new Malformed("bad.sampling", {});
    if (own(s, "ratio") && own(s, "count")) throw new Malformed("bad.sampling", {});
    if (own(s, "by_class") && (!isObject(s.by_class) || Object.keys(s.by_class).length === 0)) {
      throw new Malformed("bad.sampling", {});
    }
    if (!own(s, "by_class") && !own(s, "ratio") && !own(s, "count")) throw new Malformed("bad.sampling", {});
    const byClass = new Map();
    for (const [cls, v] of Object.entries(s.by_class || {})) {
      label(cls, "sampling.by_class");
      byClass.set(cls, ratio(v, `sampling.by_class[${cls}]`));
    }
    return {
      ratio: own(s, "ratio") ? ratio(s.ratio, "sampling.ratio") : null,
      count: own(s, "count") ? count(s.count, "sampling.count") : null,
      byClass,
      perClass: byClass.size > 0,
    };
  }

  function parseParams(p) {
    if (!isObject(p)) throw new Malformed("bad.params", { key: "params" });
    for (const k of ["sampling", "targets_per_group", "inspectors_per_department", "departments"]) {
      if (!own(p, k)) throw new Malformed("bad.params", { key: k });
    }
    const sampling = parseSampling(p.sampling);
    if (own(p, "per_class") && p.per_class !== sampling.perClass) throw new Malformed("bad.params", { key: "per_class" });
    const perGroup = p.targets_per_group, k = p.inspectors_per_department, depts = p.departments;
    if (!isInt(perGroup) || perGroup < 0) throw new Malformed("bad.params", { key: "targets_per_group" });
    if (!isInt(k) || k < 1) throw new Malformed("bad.params", { key: "inspectors_per_department" });
    if (!Array.isArray(depts) || depts.length === 0 || !depts.every((d) => typeof d === "string" && d.trim())) {
      throw new Malformed("bad.params", { key: "departments" });
    }
    if (new Set(depts).size !== depts.length) throw new Malformed("bad.params", { key: "departments" });
    if (k * depts.length < 2) throw new Malformed("bad.too_few", { k, departments: depts.length });
    const lead = own(p, "lead_department") ? p.lead_department : null;
    if (lead !== null && typeof lead !== "string") throw new Malformed("bad.params", { key: "lead_department" });
    return { sampling, perGroup, k, departments: depts, lead };
  }

  function parsePools(pools) {
    if (!isObject(pools)) throw new Malformed("bad.pools", { key: "pools" });
    for (const k of ["targets", "inspectors"]) if (!isObject(pools[k])) throw new Malformed("bad.pools", { key: k });
    const targets = new Map();
    for (const [stratum, list] of Object.entries(pools.targets)) {
      label(stratum, "pools.targets");
      targets.set(stratum, entries(list, `pools.targets[${stratum}]`));
    }
    unique([].concat(...targets.values()), "pools.targets");
    const inspectors = new Map();
    for (const [dept, list] of Object.entries(pools.inspectors)) {
      if (!dept.trim()) throw new Malformed("bad.pools", { key: "inspectors" });
      inspectors.set(dept, entries(list, `pools.inspectors[${dept}]`));
      unique(list, `pools.inspectors[${dept}]`);
    }
    const raw = own(pools, "conflicts") ? pools.conflicts : [];
    if (!Array.isArray(raw)) throw new Malformed("bad.pools", { key: "conflicts" });
    const conflicts = raw.map((pair) => {
      if (!Array.isArray(pair) || pair.length !== 2) throw new Malformed("bad.pools", { key: "conflicts" });
      label(pair[0], "pools.conflicts"); label(pair[1], "pools.conflicts");
      return [pair[0], pair[1]];
    });
    return { targets, inspectors, conflicts };
  }

  // ------------------------------------------------------------------------------------------- digests
  async function sha256Of(text, subtle) {
    const bytes = utf8(text);
    if (subtle) {
      try {
        return wordsHex(new Uint32Array(bigEndianWords(await subtle.digest("SHA-256", bytes))), 0, 8);
      } catch (e) { /* fall through to the bundled implementation */ }
    }
    return sha256Hex(bytes);
  }

  function bigEndianWords(buffer) {
    const view = new DataView(buffer), out = [];
    for (let i = 0; i < buffer.byteLength; i += 4) out.push(view.getUint32(i, false));
    return out;
  }

  async function digestsOf(pools, subtle) {
    const chunks = [];
    const strata = [...pools.targets.keys()].sort((a, b) => cpCompare(a + "|", b + "|"));
    for (const s of strata) {
      const list = sortedCopy(pools.targets.get(s));
      if (list.length) chunks.push(s + "|" + list.join("\n" + s + "|"));
    }
    const inspectors = new Map();
    for (const [dept, list] of pools.inspectors) inspectors.set(dept, await sha256Of(sortedCopy(list).join("\n"), subtle));
    const conflictLines = pools.conflicts.map(([c, u]) => c + "|" + u).sort(cpCompare);
    return {
      targets: await sha256Of(chunks.join("\n"), subtle),
      inspectors,
      conflicts: await sha256Of(conflictLines.join("\n"), subtle),
    };
  }

  // ------------------------------------------------------------------------------------------- the draw
  const UNCLASSIFIED = "-", WHOLE = "*";

  function sizeOf(n, rule, stratum) {
    if (n === 0) return { size: 0, rule: null };
    let r = rule.perClass && rule.byClass.has(stratum) ? rule.byClass.get(stratum) : null;
    if (r === null) r = rule.ratio;
    if (r !== null) {
      const N = BigInt(n);
      const ceil = (N * r.num + r.den - 1n) / r.den; // ceil(N × ratio), exact
      return { size: Number(ceil < N ? ceil : N), rule: r };
    }
    if (rule.count !== null) return { size: Math.min(n, rule.count), rule: { count: rule.count } };
    return null;
  }

  class DrawFails extends Error {
    constructor(key, vars) { super(key); this.key = key; this.vars = vars || {}; }
  }

  async function runV1(seed, params, pools) {
    for (const s of pools.targets.keys()) {
      if ((s === WHOLE) === params.sampling.perClass) throw new Malformed("bad.stratum", { stratum: s });
    }
    const ranker = new Ranker(seed);
    const decisive = [];  // [message, K] of every item drawn: WebCrypto recomputes them (see verify)
    const lacking = [];
    for (const [s, list] of pools.targets) if (list.length && sizeOf(list.length, params.sampling, s) === null) lacking.push(s);
    if (lacking.length) throw new DrawFails("fails.no_rule", { classes: lacking.sort(cpCompare).join("、") });
    const strata = [];
    const picked = [];
    for (const s of [...pools.targets.keys()].sort(cpCompare)) {
      const list = pools.targets.get(s);
      const { size } = sizeOf(list.length, params.sampling, s);
      const chosen = smallest(ranker, "target|", list, size);
      picked.push(...chosen);
      for (const p of chosen) decisive.push(["target|" + p.item, wordsHex(p.keys, p.at * 8, 8)]);
      strata.push({ stratum: s, candidates: list.length, drawn: size });
    }
    if (picked.length === 0) throw new DrawFails("fails.no_targets", {});
    picked.sort((p, q) => cmpKeys(p.keys, p.at, q.keys, q.at) || cpCompare(p.item, q.item));
    const ordered = picked.map((p) => p.item);
    const G = params.perGroup === 0 ? 1 : Math.ceil(ordered.length / params.perGroup);

    const conflicted = new Map();
    for (const [cert, uscc] of pools.conflicts) {
      if (!conflicted.has(uscc)) conflicted.set(uscc, []);
      conflicted.get(uscc).push(cert);
    }
    const blocked = new Map();
    ordered.forEach((uscc, i) => {
      if (!conflicted.has(uscc)) return;
      const g = i % G;
      if (!blocked.has(g)) blocked.set(g, new Set());
      for (const c of conflicted.get(uscc)) blocked.get(g).add(c);
    });
    const taken = new Set();
    const groups = [];
    for (let g = 0; g < G; g++) {
      const number = g + 1;
      const out = new Set([...taken, ...(blocked.get(g) || [])]);
      const members = [];
      let leader = null;
      for (const dept of params.departments) {
        const eligible = (pools.inspectors.get(dept) || []).filter((c) => !out.has(c));
        if (eligible.length < params.k) {
          throw new DrawFails("fails.too_few", { group: number, department: dept, needed: params.k, eligible: eligible.length });
        }
        const ranked = smallest(ranker, `inspector|${number}|`, eligible, params.k);
        for (const p of ranked) decisive.push([`inspector|${number}|` + p.item, wordsHex(p.keys, p.at * 8, 8)]);
        const chosen = ranked.map((p) => p.item);
        for (const c of chosen) { taken.add(c); out.add(c); }
        for (const c of chosen) members.push({ department: dept, cert_no: c });
        if (dept === params.lead) leader = chosen[0];
      }
      const targets = ordered.filter((_, i) => i % G === g);
      groups.push({ number, targets, inspectors: members, leader: leader !== null ? leader : members[0].cert_no });
    }
    return { groups, strata, ranker, decisive };
  }

  // JSON equality as Python compares decoded JSON: objects by keys and values, arrays in order.
  function same(a, b) {
    if (a === b) return true;
    if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]));
    if (isObject(a) && isObject(b)) {
      const ka = Object.keys(a), kb = Object.keys(b);
      return ka.length === kb.length && ka.every((k) => own(b, k) && same(a[k], b[k]));
    }
    return false;
  }

  // Where two lists first differ: {position (1-based), recorded, computed}.
  function firstDifference(rec, mine) {
    const r = Array.isArray(rec) ? rec : [];
    for (let i = 0; i < Math.max(r.length, mine.length); i++) {
      if (!same(r[i], mine[i])) return { position: i + 1, recorded: r[i], computed: mine[i] };
    }
    return null;
  }

  function compareResults(recorded, mine) {
    const out = [];
    if (!isObject(recorded) || !Array.isArray(recorded.groups)) {
      out.push({ field: "result.groups", key: "diff.result_missing", vars: {} });
      return out;
    }
    const theirs = recorded.groups, ours = mine.groups;
    if (theirs.length !== ours.length) {
      out.push({ field: "result.groups", key: "diff.group_count", vars: { recorded: theirs.length, computed: ours.length } });
    }
    for (let i = 0; i < Math.max(theirs.length, ours.length); i++) {
      const number = i + 1;
      if (i >= theirs.length) { out.push({ field: `result.groups[${number}]`, key: "diff.group_missing", vars: { group: number } }); continue; }
      if (i >= ours.length) { out.push({ field: `result.groups[${number}]`, key: "diff.group_extra", vars: { group: number } }); continue; }
      const rec = theirs[i], now = ours[i];
      if (!isObject(rec)) { out.push({ field: `result.groups[${number}]`, key: "diff.group_bad", vars: { group: number } }); continue; }
      const keys = Object.keys(now).concat(Object.keys(rec).filter((k) => !own(now, k)));
      for (const key of keys) {
        if (same(rec[key], now[key])) continue;
        const field = `result.groups[${number}].${key}`;
        const vars = { group: number, key, recorded: rec[key], computed: now[key] };
        if (key === "targets" || key === "inspectors") {
          const d = firstDifference(rec[key], now[key]);
          out.push({ field, key: key === "targets" ? "diff.targets" : "diff.inspectors", vars: Object.assign(vars, d) });
        } else if (key === "leader") {
          out.push({ field, key: "diff.leader", vars });
        } else {
          out.push({ field, key: "diff.other", vars });
        }
      }
    }
    return out;
  }

  function replacementsOf(record, ranker, decisive) {
    const out = [];
    const given = own(record, "replacements") ? record.replacements : null;
    // Python's `or []`: null, false, 0, "" and {} mean none
    const none = given === null || given === false || given === 0 || given === ""
      || (isObject(given) && Object.keys(given).length === 0);
    if (!none && !Array.isArray(given)) {
      out.push({ field: "replacements", key: "diff.reps_bad", vars: {} });
      return out;
    }
    const reps = none ? [] : given;
    const broughtIn = [];
    const drawn = new Set();
    for (const g of record.result.groups) for (const m of g.inspectors || []) drawn.add(m.cert_no);
    reps.forEach((rep, i0) => {
      const i = i0 + 1;
      const field = `replacements[${i}]`;
      if (!isObject(rep)) { out.push({ field, key: "diff.rep_bad", vars: { n: i } }); return; }
      if (rep.n !== i) out.push({ field: `${field}.n`, key: "diff.rep_n", vars: { n: i, recorded: rep.n } });
      const group = record.result.groups.find((g) => g.number === rep.group);
      const pool = isObject(record.pools.inspectors) ? record.pools.inspectors[rep.department] : undefined;
      if (!group || !Array.isArray(pool)) {
        out.push({ field, key: "diff.rep_bad", vars: { n: i } });
        return;
      }
      const targets = new Set(group.targets);
      const excluded = new Set([...drawn, ...broughtIn]);
      for (const [cert, uscc] of record.pools.conflicts || []) if (targets.has(uscc)) excluded.add(cert);
      const eligible = pool.filter((c) => !excluded.has(c));
      const chosen = smallest(ranker, `replace|${rep.group}|${i}|`, eligible, 1);
      const expected = chosen.length ? chosen[0].item : null;
      if (chosen.length) decisive.push([`replace|${rep.group}|${i}|` + expected, wordsHex(chosen[0].keys, chosen[0].at * 8, 8)]);
      if (expected !== rep.in) out.push({ field: `${field}.in`, key: "diff.rep_in", vars: { n: i, recorded: rep.in, computed: expected } });
      broughtIn.push(rep.in);
    });
    return out;
  }

  // ------------------------------------------------------------------------------------------- crypto check
  // Known answers (FIPS 180-2 "abc", RFC 4231 test case 2) for the bundled code, then the same HMAC keys by
  // WebCrypto and by the bundled code.
  async function selfTest(subtle, seed, messages) {
    if (sha256Hex(utf8("abc")) !== "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") return false;
    if (hmacHex(utf8("Jefe"), utf8("what do ya want for nothing?"))
        !== "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843") return false;
    const ranker = new Ranker(seed);
    for (const m of messages) if (ranker.hex(m) !== hmacHex(hexBytes(seed), utf8(m))) return false;
    if (!subtle) return true;
    try {
      const key = await subtle.importKey("raw", hexBytes(seed), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      for (const m of messages) {
        const sig = await subtle.sign("HMAC", key, utf8(m));
        if (wordsHex(new Uint32Array(bigEndianWords(sig)), 0, 8) !== ranker.hex(m)) return false;
      }
    } catch (e) { return null; } // WebCrypto refused (e.g. not a secure context): the bundled code alone
    return true;
  }

  // The keys by WebCrypto: true when all agree, false when one differs, null when WebCrypto refuses.
  async function crossCheck(subtle, seed, pairs) {
    try {
      const key = await subtle.importKey("raw", hexBytes(seed), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      for (let i = 0; i < pairs.length; i += 2000) {
        const batch = pairs.slice(i, i + 2000);
        const sigs = await Promise.all(batch.map(([m]) => subtle.sign("HMAC", key, utf8(m))));
        for (let j = 0; j < batch.length; j++) {
          if (wordsHex(new Uint32Array(bigEndianWords(sigs[j])), 0, 8) !== batch[j][1]) return false;
        }
      }
    } catch (e) { return null; }
    return true;
  }

  function webCrypto() {
    try {
      const c = root.crypto;
      if (c && c.subtle && typeof c.subtle.digest === "function") return c.subtle;
    } catch (e) { /* no WebCrypto */ }
    return null;
  }

  // ------------------------------------------------------------------------------------------- verify
  async function verify(record) {
    const started = Date.now();
    const facts = { crypto: "bundled" };
    const diffs = [];
    const done = () => ({ ok: diffs.length === 0, differences: diffs, facts, ms: Date.now() - started });
    const malformed = (key, vars) => { diffs.push({ field: "record", key, vars: vars || {} }); return done(); };

    if (!isObject(record)) return malformed("bad.not_object");
    const missing = ["algorithm", "seed", "seed_source", "params", "pools", "digests", "result"].filter((k) => !own(record, k));
    if (missing.length) return malformed("bad.missing", { keys: missing.join(", ") });
    if (own(record, "format") && record.format !== "shuangsui-draw") return malformed("bad.format", { value: show(record.format) });
    if (record.algorithm !== "v1") return malformed("bad.algorithm", { value: show(record.algorithm) });
    const seed = record.seed;
    if (typeof seed !== "string" || !/^[0-9a-f]{64}$/.test(seed)) return malformed("bad.seed");
    const source = record.seed_source;
    if (source !== "secrets" && source !== "public") return malformed("bad.seed_source", { value: show(source) });

    let subtle = webCrypto();
    const sample = [];
    for (const list of Object.values(isObject(record.pools) && isObject(record.pools.targets) ? record.pools.targets : {})) {
      if (Array.isArray(list)) for (const u of list.slice(0, 4)) if (typeof u === "string") sample.push("target|" + u);
    }
    sample.push("inspector|1|测试", "replace|1|1|\u{1F600}");
    const test = await selfTest(subtle, seed, sample.slice(0, 16));
    if (test === false) return malformed("bad.selftest");
    if (test === null) subtle = null;
    facts.crypto = subtle ? "webcrypto" : "bundled";

    if (source === "public") {
      const text = record.public_text;
      if (typeof text !== "string") diffs.push({ field: "seed", key: "diff.public_missing", vars: {} });
      else {
        const computed = await sha256Of(text, subtle);
        if (computed !== seed) diffs.push({ field: "seed", key: "diff.public_seed", vars: { recorded: seed, computed } });
      }
    }

    let pools, digests;
    try {
      pools = parsePools(record.pools);
      digests = await digestsOf(pools, subtle);
    } catch (e) {
      if (!(e instanceof Malformed)) throw e;
      diffs.push({ field: "record", key: e.key, vars: e.vars });
      return done();
    }
    facts.digests = digests;
    const recorded = isObject(record.digests) ? record.digests : {};
    for (const name of ["targets", "conflicts"]) {
      if (recorded[name] !== digests[name]) {
        diffs.push({ field: `digests.${name}`, key: `diff.digest_${name}`, vars: { recorded: recorded[name], computed: digests[name] } });
      }
    }
    const recInsp = isObject(recorded.inspectors) ? recorded.inspectors : {};
    const depts = [...digests.inspectors.keys()].concat(Object.keys(recInsp).filter((d) => !digests.inspectors.has(d)));
    for (const dept of depts) {
      const mine = digests.inspectors.get(dept), theirs = recInsp[dept];
      if (mine !== theirs) {
        diffs.push({ field: `digests.inspectors[${dept}]`, key: "diff.digest_inspectors",
                     vars: { department: dept, recorded: theirs, computed: mine === undefined ? null : mine } });
      }
    }

    let run;
    try {
      const params = parseParams(record.params);
      run = await runV1(seed, params, pools);
    } catch (e) {
      if (e instanceof Malformed || e instanceof DrawFails) {
        diffs.push({ field: "rerun", key: e.key, vars: e.vars });
        return done();
      }
      throw e;
    }
    facts.strata = run.strata;
    diffs.push(...compareResults(record.result, { groups: run.groups }));
    if (diffs.length === 0) {
      // Substitutions are re-run on the verified draw only (§5.10): on a draw that does not match they mean nothing.
      diffs.push(...replacementsOf(record, run.ranker, run.decisive));
    }
    if (subtle) {
      // The ranking ran on the page's own HMAC code (WebCrypto costs a promise per key: about 7× slower, see
      // bench/bench_draw_page.py). Every key that drew a target, an inspector or a substitute is computed again
      // by the browser's WebCrypto; a disagreement discards the verdict.
      const agreed = await crossCheck(subtle, seed, run.decisive);
      if (agreed === false) {
        diffs.length = 0;
        return malformed("bad.selftest");
      }
      if (agreed === null) facts.crypto = "bundled";  // WebCrypto refused: the page claims no agreement
    }
    return done();
  }

  const api = { verify, sha256Hex, hmacHex, Ranker, decimalFraction, cpCompare, utf8 };
  root.DrawVerifier = api;
  if (typeof module !== "undefined" && module.exports) module.exports = api;
})(typeof globalThis !== "undefined" ? globalThis : this);
