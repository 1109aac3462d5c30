// textlens population map: a small WebGL point renderer (one draw call), zoom/pan, hover
// picking through a uniform grid, lasso and box outlines. Colours/sizes are per-point typed
// arrays. With the server's levels of detail (`lod[i]`: the coarsest level point i is drawn at,
// nested sets) the vertex buffers hold the points sorted by level, so drawing level K is one
// draw of a prefix: dense regions thin out at low zoom, sparse points always show, and every
// point is drawn once a level-K cell is under ~LOD_PIXELS px. Selections never use what is
// drawn: the server tests the shape against every point.
const VERTEX = `
attribute vec2 a_pos; attribute vec4 a_color; attribute float a_size;
uniform vec2 u_scale; uniform vec2 u_offset; uniform float u_pixel;
varying vec4 v_color;
void main() {
  gl_Position = vec4(a_pos * u_scale + u_offset, 0.0, 1.0);
  gl_PointSize = a_size * u_pixel;
  v_color = a_color;
}`;
const LOD_PIXELS = 4;  // a level-K cell must span this many CSS px to be drawn at level K
const TILES = 64;  // per axis: the buffers are grouped by tile so a zoomed-in frame skips the rest
const FRAGMENT = `
precision mediump float; varying vec4 v_color;
void main() {
  vec2 d = gl_PointCoord - vec2(0.5);
  if (dot(d, d) > 0.25) discard;
  gl_FragColor = vec4(v_color.rgb * v_color.a, v_color.a);
}`;

export class PointMap {
  constructor(canvas, overlay) {
    this.canvas = canvas;
    this.overlay = overlay;  // 2-D canvas on top: lasso/box outline, hover ring
    const gl = canvas.getContext("webgl", { antialias: false, premultipliedAlpha: true,
                                            preserveDrawingBuffer: true });
    if (!gl) throw new Error("WebGL is not available in this browser");
    this.gl = gl;
    this.program = this._program(VERTEX, FRAGMENT);
    this.buffers = { pos: gl.createBuffer(), color: gl.createBuffer(), size: gl.createBuffer() };
    // The highlighted points, drawn again on top at every zoom (levels of detail never hide them).
    this.extra = { pos: gl.createBuffer(), color: gl.createBuffer(), size: gl.createBuffer(), n: 0 };
    this.n = 0;
    this.order = null;  // buffer order: points by (level of detail, tile)
    this.view = { cx: 0, cy: 0, zoom: 1 };  // data centre and pixels per data unit
    this.mode = "pan";
    this.onHover = () => {};
    this.onClick = () => {};
    this.onSelect = () => {};
    this.drawCount = 0;
    this.marked = -1;  // the open sample, ringed on every draw
    this._events();
    new ResizeObserver(() => this.resize()).observe(canvas.parentElement);
  }

  _program(vs, fs) {
    const gl = this.gl;
    const compile = (type, src) => {
      const s = gl.createShader(type); gl.shaderSource(s, src); gl.compileShader(s);
      if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(s));
      return s;
    };
    const p = gl.createProgram();
    gl.attachShader(p, compile(gl.VERTEX_SHADER, vs));
    gl.attachShader(p, compile(gl.FRAGMENT_SHADER, fs));
    gl.linkProgram(p);
    return p;
  }

  // xs, ys: Float32Array of data coordinates; lod: optional Uint8Array of levels, with
  // `base` cells per axis at level 0 (see docs/dashboard.md, Levels of detail).
  setPoints(xs, ys, lod, base) {
    const n = xs.length;
    let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
    for (let i = 0; i < n; i++) {
      const x = xs[i], y = ys[i];
      if (x < minX) minX = x; if (x > maxX) maxX = x; if (y < minY) minY = y; if (y > maxY) maxY = y;
    }
    this.n = n; this.xs = xs; this.ys = ys;
    this.bounds = n ? { minX, maxX, minY, maxY } : { minX: 0, maxX: 1, minY: 0, maxY: 1 };
    this._levels(lod, base);
    const pos = new Float32Array(2 * n), order = this.order;
    for (let k = 0; k < n; k++) { const i = order[k]; pos[2 * k] = xs[i]; pos[2 * k + 1] = ys[i]; }
    const gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers.pos);
    gl.bufferData(gl.ARRAY_BUFFER, pos, gl.STATIC_DRAW);
    this._grid();
    this.resize();
    this.fit();
  }

  // Counting sort of the points by (level, tile of a TILES x TILES grid over the bounds):
  // order[k] is the k-th point in the buffers, starts[key] where a (level, tile) run begins,
  // levelEnd[K] how many points have lod <= K. Without levels every point is level 0.
  _levels(lod, base) {
    const n = this.n, b = this.bounds, T = TILES, TT = T * T;
    this.hasLod = Boolean(lod); this.lodBase = base || 16;
    this.lod = lod || new Uint8Array(n);
    let top = 0;
    for (let i = 0; i < n; i++) if (this.lod[i] > top) top = this.lod[i];
    const w = (b.maxX - b.minX) || 1, h = (b.maxY - b.minY) || 1;
    const key = new Uint32Array(n), starts = new Uint32Array((top + 1) * TT + 1);
    for (let i = 0; i < n; i++) {
      const tx = Math.min(T - 1, Math.floor((this.xs[i] - b.minX) / w * T));
      const ty = Math.min(T - 1, Math.floor((this.ys[i] - b.minY) / h * T));
      key[i] = this.lod[i] * TT + ty * T + tx; starts[key[i] + 1]++;
    }
    for (let k = 0; k + 1 < starts.length; k++) starts[k + 1] += starts[k];
    const fill = starts.slice(0, -1), order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[fill[key[i]]++] = i;
    const rank = new Uint32Array(n);
    for (let k = 0; k < n; k++) rank[order[k]] = k;
    this.order = order; this.rank = rank; this.starts = starts; this.topLevel = top;
    this.levelEnd = Array.from({ length: top + 1 }, (_, k) => starts[(k + 1) * TT]);
  }

  // The level drawn at the current zoom: the finest whose cells still span LOD_PIXELS px.
  level() {
    if (!this.hasLod) return 0;
    const b = this.bounds, span = Math.max(b.maxX - b.minX, b.maxY - b.minY) || 1;
    const k = Math.floor(Math.log2(span * this.view.zoom / (LOD_PIXELS * this.lodBase)));
    return Math.max(0, Math.min(this.topLevel, k));
  }

  // How many points the current zoom draws, off-screen ones included (all without levels).
  drawnCount() { return this.levelEnd ? this.levelEnd[this.level()] : this.n; }

  // The runs of the buffers to draw: levels <= level() and the tiles on screen (plus a margin
  // for point radii), consecutive runs merged; one run when most tiles show. At 1M points and
  // 8x zoom the whole level-K prefix was 504k points and 286 ms a frame under load; the
  // on-screen tiles are a sixtieth of that.
  _runs() {
    const K = this.level(), end = this.levelEnd[K], T = TILES, TT = T * T, b = this.bounds;
    const w = (b.maxX - b.minX) || 1, h = (b.maxY - b.minY) || 1, pad = 16 / this.view.zoom;
    const [ax, ay] = this.toData(0, this.cssH), [bx, by] = this.toData(this.cssW, 0);
    const col = (x) => Math.max(0, Math.min(T - 1, Math.floor((x - b.minX) / w * T)));
    const row = (y) => Math.max(0, Math.min(T - 1, Math.floor((y - b.minY) / h * T)));
    if (bx + pad < b.minX || ax - pad > b.maxX || by + pad < b.minY || ay - pad > b.maxY) return [];
    const c0 = col(ax - pad), c1 = col(bx + pad), r0 = row(ay - pad), r1 = row(by + pad);
    if ((c1 - c0 + 1) * (r1 - r0 + 1) > TT / 2) return [[0, end]];
    const runs = [];
    for (let k = 0; k <= K; k++) {
      for (let r = r0; r <= r1; r++) {
        const a = this.starts[k * TT + r * T + c0], z = this.starts[k * TT + r * T + c1 + 1];
        if (z <= a) continue;
        const last = runs[runs.length - 1];
        if (last && last[1] === a) last[1] = z; else runs.push([a, z]);
      }
    }
    return runs;
  }

  // Uniform grid over the data bounds (CSR layout) for hover and click picking.
  _grid() {
    const G = 256, b = this.bounds, n = this.n;
    const w = (b.maxX - b.minX) || 1, h = (b.maxY - b.minY) || 1;
    const cell = new Int32Array(n), counts = new Int32Array(G * G + 1);
    for (let i = 0; i < n; i++) {
      const cx = Math.min(G - 1, Math.floor((this.xs[i] - b.minX) / w * G));
      const cy = Math.min(G - 1, Math.floor((this.ys[i] - b.minY) / h * G));
      cell[i] = cy * G + cx; counts[cell[i] + 1]++;
    }
    for (let c = 0; c < G * G; c++) counts[c + 1] += counts[c];
    const fill = counts.slice(0, G * G), items = new Int32Array(n);
    for (let i = 0; i < n; i++) items[fill[cell[i]]++] = i;
    this.grid = { G, w, h, starts: counts, items };
  }

  // Styling arrives in buffer order (`order`), so a colour change is one pass and one upload:
  // rgba: Uint32Array(n) of little-endian RGBA; sizes: Float32Array(n) in CSS px.
  setColors(rgba) {
    const gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers.color);
    gl.bufferData(gl.ARRAY_BUFFER, new Uint8Array(rgba.buffer, rgba.byteOffset, 4 * this.n), gl.DYNAMIC_DRAW);
    this.draw();
  }

  setSizes(sizes) {
    const gl = this.gl;
    this.sizes = sizes;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers.size);
    gl.bufferData(gl.ARRAY_BUFFER, sizes, gl.DYNAMIC_DRAW);
  }

  // Points drawn on top whatever the zoom: `points` (Uint32Array of positions), their colours
  // (Uint32Array RGBA) and sizes; an empty array clears them.
  setExtra(points, rgba, sizes) {
    const gl = this.gl, pos = new Float32Array(2 * points.length);
    points.forEach((i, k) => { pos[2 * k] = this.xs[i]; pos[2 * k + 1] = this.ys[i]; });
    for (const [buffer, data] of [[this.extra.pos, pos], [this.extra.color, new Uint8Array(rgba.buffer, rgba.byteOffset, 4 * points.length)], [this.extra.size, sizes]]) {
      gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
      gl.bufferData(gl.ARRAY_BUFFER, data, gl.DYNAMIC_DRAW);
    }
    this.extra.n = points.length;
  }

  sizeOf(i) { return this.sizes ? this.sizes[this.rank[i]] : 5; }

  resize() {
    const dpr = window.devicePixelRatio || 1, box = this.canvas.parentElement.getBoundingClientRect();
    for (const c of [this.canvas, this.overlay]) {
      c.width = Math.max(1, Math.round(box.width * dpr));
      c.height = Math.max(1, Math.round(box.height * dpr));
      c.style.width = box.width + "px"; c.style.height = box.height + "px";
    }
    this.cssW = box.width; this.cssH = box.height;
    this.draw();
  }

  fit() {
    const b = this.bounds, pad = 0.05;
    const w = (b.maxX - b.minX) || 1, h = (b.maxY - b.minY) || 1;
    this.view.cx = (b.minX + b.maxX) / 2; this.view.cy = (b.minY + b.maxY) / 2;
    this.view.zoom = Math.min(this.cssW / (w * (1 + 2 * pad)), this.cssH / (h * (1 + 2 * pad)));
    this.draw();
  }

  toScreen(x, y) {  // data -> CSS pixels inside the canvas
    const v = this.view;
    return [this.cssW / 2 + (x - v.cx) * v.zoom, this.cssH / 2 - (y - v.cy) * v.zoom];
  }

  toData(px, py) {
    const v = this.view;
    return [v.cx + (px - this.cssW / 2) / v.zoom, v.cy - (py - this.cssH / 2) / v.zoom];
  }

  draw() {
    if (!this.n || !this.sizes) return;
    const gl = this.gl, p = this.program, v = this.view, dpr = window.devicePixelRatio || 1;
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    gl.clearColor(1, 1, 1, 1); gl.clear(gl.COLOR_BUFFER_BIT);
    gl.enable(gl.BLEND); gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    gl.useProgram(p);
    const sx = 2 * v.zoom / this.cssW, sy = 2 * v.zoom / this.cssH;
    gl.uniform2f(gl.getUniformLocation(p, "u_scale"), sx, sy);
    gl.uniform2f(gl.getUniformLocation(p, "u_offset"), -v.cx * sx, -v.cy * sy);
    gl.uniform1f(gl.getUniformLocation(p, "u_pixel"), dpr);
    const attr = (name, buffer, size, type, norm) => {
      const loc = gl.getAttribLocation(p, name);
      gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
      gl.enableVertexAttribArray(loc);
      gl.vertexAttribPointer(loc, size, type, norm, 0, 0);
    };
    const use = (set) => {
      attr("a_pos", set.pos, 2, gl.FLOAT, false);
      attr("a_color", set.color, 4, gl.UNSIGNED_BYTE, true);
      attr("a_size", set.size, 1, gl.FLOAT, false);
    };
    use(this.buffers);
    let sent = 0;
    for (const [a, z] of this._runs()) { gl.drawArrays(gl.POINTS, a, z - a); sent += z - a; }
    if (this.extra.n) { use(this.extra); gl.drawArrays(gl.POINTS, 0, this.extra.n); sent += this.extra.n; }
    this.lastDrawn = sent;  // points sent to the GPU in this frame
    this.drawCount++;
    this.ring(-1);
    if (this.onDraw) this.onDraw(this.drawCount);
  }

  // Nearest drawn point to a CSS-pixel position within `radius` px, or -1; `allowed(i)` filters.
  pick(px, py, radius, allowed) {
    if (!this.grid) return -1;
    const level = this.level(), lod = this.hasLod ? this.lod : null;
    const [x, y] = this.toData(px, py), g = this.grid, b = this.bounds;
    const r = radius / this.view.zoom;
    const c0 = Math.max(0, Math.floor((x - r - b.minX) / g.w * g.G));
    const c1 = Math.min(g.G - 1, Math.floor((x + r - b.minX) / g.w * g.G));
    const r0 = Math.max(0, Math.floor((y - r - b.minY) / g.h * g.G));
    const r1 = Math.min(g.G - 1, Math.floor((y + r - b.minY) / g.h * g.G));
    let best = -1, bestD = r * r;
    for (let row = r0; row <= r1; row++) {
      for (let col = c0; col <= c1; col++) {
        const c = row * g.G + col;
        for (let k = g.starts[c]; k < g.starts[c + 1]; k++) {
          const i = g.items[k];
          if ((allowed && !allowed(i)) || (lod && lod[i] > level)) continue;
          const dx = this.xs[i] - x, dy = this.ys[i] - y, d = dx * dx + dy * dy;
          if (d <= bestD) { bestD = d; best = i; }
        }
      }
    }
    return best;
  }

  // Positions inside a polygon in data coordinates (even-odd rule), drawn or not.
  inside(poly, allowed) {
    let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
    for (const [x, y] of poly) {
      minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y);
    }
    const out = [], m = poly.length;
    for (let i = 0; i < this.n; i++) {
      const x = this.xs[i], y = this.ys[i];
      if (x < minX || x > maxX || y < minY || y > maxY || (allowed && !allowed(i))) continue;
      let hit = false;
      for (let a = 0, b = m - 1; a < m; b = a++) {
        const ya = poly[a][1], yb = poly[b][1];
        if ((ya > y) !== (yb > y) && x < (poly[b][0] - poly[a][0]) * (y - ya) / (yb - ya) + poly[a][0]) hit = !hit;
      }
      if (hit) out.push(i);
    }
    return out;
  }

  _outline(points, close) {
    const ctx = this.overlay.getContext("2d"), dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this.cssW, this.cssH);
    if (!points || points.length < 2) return;
    ctx.beginPath(); ctx.moveTo(points[0][0], points[0][1]);
    for (const [x, y] of points.slice(1)) ctx.lineTo(x, y);
    if (close) ctx.closePath();
    ctx.strokeStyle = "#222"; ctx.setLineDash([4, 3]); ctx.lineWidth = 1.5; ctx.stroke();
    ctx.fillStyle = "rgba(40,90,200,0.08)"; ctx.fill();
  }

  ring(i) {  // hover ring around point i (or none), and the open sample's marker
    const ctx = this.overlay.getContext("2d"), dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this.cssW, this.cssH);
    const circle = (k, colour, width, extra) => {
      const [x, y] = this.toScreen(this.xs[k], this.ys[k]);
      ctx.beginPath(); ctx.arc(x, y, Math.max(5, this.sizeOf(k) / 2 + extra), 0, 2 * Math.PI);
      ctx.strokeStyle = colour; ctx.lineWidth = width; ctx.setLineDash([]); ctx.stroke();
    };
    if (this.marked >= 0 && this.marked < this.n) { circle(this.marked, "#fff", 5, 5); circle(this.marked, "#d00", 2.5, 5); }
    if (i >= 0) circle(i, "#000", 2, 3);
  }

  _events() {
    const el = this.overlay;
    let drag = null;
    const local = (e) => { const r = el.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; };
    el.addEventListener("wheel", (e) => {
      e.preventDefault();
      const [px, py] = local(e), [x, y] = this.toData(px, py);
      this.view.zoom *= Math.exp(-e.deltaY * 0.0015);
      const [nx, ny] = this.toData(px, py);
      this.view.cx += x - nx; this.view.cy += y - ny;
      this.draw();
    }, { passive: false });
    el.addEventListener("mousedown", (e) => {
      const p = local(e);
      drag = { start: p, last: p, path: [p], moved: false };
    });
    window.addEventListener("mousemove", (e) => {
      const p = local(e);
      if (!drag) {
        if (e.target === el) this.onHover(p);
        return;
      }
      if (Math.abs(p[0] - drag.start[0]) + Math.abs(p[1] - drag.start[1]) > 3) drag.moved = true;
      if (this.mode === "pan") {
        this.view.cx -= (p[0] - drag.last[0]) / this.view.zoom;
        this.view.cy += (p[1] - drag.last[1]) / this.view.zoom;
        this.draw();
      } else if (this.mode === "lasso") {
        drag.path.push(p); this._outline(drag.path, false);
      } else {
        const [a, b] = [drag.start, p];
        drag.path = [a, [b[0], a[1]], b, [a[0], b[1]]]; this._outline(drag.path, true);
      }
      drag.last = p;
    });
    window.addEventListener("mouseup", (e) => {
      if (!drag) return;
      const d = drag; drag = null;
      if (!d.moved) { this._outline(null); this.onClick(local(e)); return; }
      if (this.mode !== "pan" && d.path.length >= 3) { this._outline(null); this.onSelect(d.path); }
    });
  }
}

