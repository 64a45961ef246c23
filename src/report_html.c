// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The HTML page (see report_html.h).  The C side writes the text (the
 * summary, the explanation's sentences, the claims, the whole text report)
 * as HTML and the figures as one JSON document inside a
 * <script type="application/json">; the inline script draws from it.
 *
 * Untrusted strings (comm names, command lines, wait reasons) reach the
 * page two ways, each escaped for where it lands: HTML text with &<>"'
 * as entities, and the JSON with <, > and & as \u escapes so that nothing
 * in it can end the script element.  The script puts them in the page as
 * text (textContent), never as markup.
 *
 * Thousands of tasks: a task's intervals shorter than the chart's
 * resolution merge with their neighbours into one segment drawn in the
 * state that took most of it.  The resolution starts near a pixel of a
 * 2000-pixel chart and doubles until the page holds at most
 * MPX_HTML_MAX_SEGS segments; the page says how many intervals it merged.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json_writer.h"
#include "output.h"
#include "report_html.h"
#include "util.h"

#ifndef MPX_VERSION
#define MPX_VERSION "0.1.0"
#endif

#define HTML_BINS	2000	/* the resolution to start from: span / bins */
#define HTML_RSS_POINTS	2000	/* most memory samples per run */

/* ---- the page's style and script (no double quotes or backslashes in them) -- */

static const char html_css[] =
	"body { font: 14px/1.45 sans-serif; color: #1d1d1d; background: #fff;\n"
	"       margin: 16px 24px; }\n"
	"h1 { font-size: 20px; margin: 0 0 4px; }\n"
	"h2 { font-size: 17px; margin: 22px 0 6px; border-bottom: 1px solid #ddd; }\n"
	"h3 { font-size: 14px; margin: 10px 0 4px; }\n"
	"p.meta, p.note { color: #555; margin: 2px 0; font-size: 13px; }\n"
	"ol.why li { margin: 3px 0; max-width: 70em; }\n"
	"table { border-collapse: collapse; font-size: 13px; }\n"
	"td, th { padding: 1px 8px; text-align: left; }\n"
	"td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }\n"
	"tr:nth-child(even) td { background: #f6f6f6; }\n"
	".verdict { font-weight: bold; }\n"
	"pre { font-size: 12px; background: #f7f7f7; padding: 8px; overflow-x: auto; }\n"
	".panels { display: flex; flex-wrap: wrap; gap: 16px; }\n"
	".panel { flex: 1 1 340px; min-width: 0; }\n"
	".legend { font-size: 12px; margin: 4px 0; }\n"
	".legend .key { margin-right: 14px; white-space: nowrap; }\n"
	".swatch { display: inline-block; width: 12px; height: 10px; margin-right: 4px;\n"
	"    vertical-align: -1px; }\n"
	".swatch.dashed { height: 3px; vertical-align: 3px; }\n"
	"svg text { font: 11px sans-serif; fill: #333; }\n"
	"svg text.val { fill: #444; font-size: 10px; }\n"
	"svg .grid { stroke: #e6e6e6; stroke-width: 1; }\n"
	".gantt-run { margin-bottom: 14px; }\n"
	".gantt-body { display: flex; align-items: flex-start; }\n"
	".gantt-labels { flex: 0 0 auto; font-size: 11px; padding-right: 6px; }\n"
	".gantt-labels div { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }\n"
	".gantt-row.thread { padding-left: 12px; color: #555; }\n"
	".gantt-proc { font-weight: bold; background: #eef0f3; }\n"
	".gantt-canvas { flex: 0 0 auto; }\n"
	"#tip { position: absolute; display: none; background: #fffbe6; border: 1px solid #bbb;\n"
	"       padding: 2px 6px; font-size: 12px; pointer-events: none; }\n"
	"#mpx-status:empty { display: none; }\n";

static const char html_head_js[] =
	"(function () {\n"
	"'use strict';\n"
	"var n = 0, root = document.documentElement;\n"
	"function fail(msg) {\n"
	"  n++;\n"
	"  root.setAttribute('data-js-errors', String(n));\n"
	"  var was = root.getAttribute('data-js-error-text') || '';\n"
	"  root.setAttribute('data-js-error-text', was + String(msg).slice(0, 300) + '; ');\n"
	"}\n"
	"root.setAttribute('data-js-errors', '0');\n"
	"window.addEventListener('error', function (ev) {\n"
	"  fail((ev.message || 'error') + ' (line ' + (ev.lineno || '?') + ')');\n"
	"});\n"
	"window.addEventListener('unhandledrejection', function (ev) {\n"
	"  fail('unhandled rejection: ' + ev.reason);\n"
	"});\n"
	"var orig = console.error;\n"
	"console.error = function () {\n"
	"  fail(Array.prototype.join.call(arguments, ' '));\n"
	"  return orig.apply(console, arguments);\n"
	"};\n"
	"})();\n";

static const char html_js[] =
	"(function () {\n"
	"'use strict';\n"
	"var started = performance.now();\n"
	"var D = JSON.parse(document.getElementById('mpx-data').textContent);\n"
	"var NS = 'http://www.w3.org/2000/svg';\n"
	"/* Per bucket, in the order of D.buckets. */\n"
	"var BCOL = ['#2ca02c', '#ff9f1c', '#d62728', '#c9d6e3', '#9467bd', '#1f77b4',\n"
	"      '#7f7f7f'];\n"
	"var RCOL = ['#4e79a7', '#e15759', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#9c755f',\n"
	"      '#ff9da7'];\n"
	"var status = document.getElementById('mpx-status');\n"
	"\n"
	"function el(tag, cls, text) {\n"
	"  var e = document.createElement(tag);\n"
	"  if (cls)\n"
	"    e.className = cls;\n"
	"  if (text !== undefined)\n"
	"    e.textContent = text;\n"
	"  return e;\n"
	"}\n"
	"function svg(tag, attrs, parent) {\n"
	"  var e = document.createElementNS(NS, tag);\n"
	"  for (var k in attrs)\n"
	"    e.setAttribute(k, attrs[k]);\n"
	"  if (parent)\n"
	"    parent.appendChild(e);\n"
	"  return e;\n"
	"}\n"
	"function stext(parent, x, y, s, anchor, cls) {\n"
	"  var t = svg('text', { x: x, y: y }, parent);\n"
	"  if (anchor)\n"
	"    t.setAttribute('text-anchor', anchor);\n"
	"  if (cls)\n"
	"    t.setAttribute('class', cls);\n"
	"  t.textContent = s;\n"
	"  return t;\n"
	"}\n"
	"function fmt(v, d) {\n"
	"  return v.toFixed(d === undefined ? 2 : d);\n"
	"}\n"
	"/* A round step near range/n. */\n"
	"function step(range, n) {\n"
	"  var raw = range / n, p = Math.pow(10, Math.floor(Math.log10(raw || 1)));\n"
	"  var m = raw / p;\n"
	"  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;\n"
	"}\n"
	"function runColor(i) {\n"
	"  return RCOL[i % RCOL.length];\n"
	"}\n"
	"function legend(parent, items) {\n"
	"  var lg = el('div', 'legend');\n"
	"  items.forEach(function (it) {\n"
	"    var s = el('span', 'key');\n"
	"    var sw = el('i', 'swatch');\n"
	"    sw.style.background = it[1];\n"
	"    if (it[2])\n"
	"      sw.className += ' dashed';\n"
	"    s.appendChild(sw);\n"
	"    s.appendChild(document.createTextNode(it[0]));\n"
	"    lg.appendChild(s);\n"
	"  });\n"
	"  parent.appendChild(lg);\n"
	"}\n"
	"function width(node, min) {\n"
	"  var w = node.clientWidth || 900;\n"
	"  return Math.max(min, w);\n"
	"}\n"
	"\n"
	"/* ---- bucket bars ---------------------------------------------------- */\n"
	"\n"
	"function bucketPanel(parent, title, key, note) {\n"
	"  var box = el('div', 'panel');\n"
	"  box.appendChild(el('h3', null, title));\n"
	"  if (note)\n"
	"    box.appendChild(el('p', 'note', note));\n"
	"  parent.appendChild(box);\n"
	"  var W = Math.max(320, Math.floor(width(parent, 700) / 2) - 24);\n"
	"  var nb = D.buckets.length, nr = D.runs.length;\n"
	"  var max = 0;\n"
	"  D.runs.forEach(function (r) {\n"
	"    r[key].forEach(function (v) { max = Math.max(max, v); });\n"
	"  });\n"
	"  var barH = Math.max(4, Math.min(14, Math.floor(40 / nr)));\n"
	"  var groupH = barH * nr + 8, left = 150, top = 6, right = 60;\n"
	"  var H = top + groupH * nb + 26;\n"
	"  var s = svg('svg', { width: W, height: H, 'class': 'bars' }, box);\n"
	"  var plotW = W - left - right, sc = max > 0 ? plotW / max : 0;\n"
	"  var st = step(max / 1e6, 4);\n"
	"  for (var t = 0; st > 0 && t <= max / 1e6 + 1e-9; t += st) {\n"
	"    var x = left + t * 1e6 * sc;\n"
	"    svg('line', { x1: x, x2: x, y1: top, y2: H - 20, 'class': 'grid' }, s);\n"
	"    stext(s, x, H - 6, fmt(t, st < 1 ? 2 : 0), 'middle', 'tick');\n"
	"  }\n"
	"  D.buckets.forEach(function (b, bi) {\n"
	"    var y0 = top + bi * groupH;\n"
	"    stext(s, left - 6, y0 + groupH / 2 + 3, D.bucket_labels[bi], 'end', 'lab');\n"
	"    D.runs.forEach(function (r, ri) {\n"
	"      var v = r[key][bi], w = v * sc;\n"
	"      var y = y0 + 4 + ri * barH;\n"
	"      var rect = svg('rect', { x: left, y: y, width: Math.max(w, v > 0 ? 1 : 0),\n"
	"        height: barH - 1, fill: runColor(ri), 'class': 'bar' }, s);\n"
	"      svg('title', {}, rect).textContent = r.name + ': ' + D.bucket_labels[bi] +\n"
	"        ' ' + fmt(v / 1e6) + ' ms';\n"
	"      if (v > 0)\n"
	"        stext(s, left + w + 3, y + barH - 3, fmt(v / 1e6), null, 'val');\n"
	"    });\n"
	"  });\n"
	"  return box;\n"
	"}\n"
	"\n"
	"function drawBuckets() {\n"
	"  var host = document.getElementById('bucket-chart');\n"
	"  var row = el('div', 'panels');\n"
	"  host.appendChild(row);\n"
	"  legend(host, D.runs.map(function (r, i) { return [r.name, runColor(i)]; }));\n"
	"  bucketPanel(row, 'Every task, summed (ms)', 'totals_ns',\n"
	"        'The whole lifetime of every task, split into buckets.');\n"
	"  bucketPanel(row, 'On the critical path (ms)', 'cp_ns',\n"
	"        'The chain of work and waits that set the measured time.');\n"
	"}\n"
	"\n"
	"/* ---- memory --------------------------------------------------------- */\n"
	"\n"
	"function drawMemory() {\n"
	"  var host = document.getElementById('rss-chart');\n"
	"  var W = width(host, 600), H = 260, left = 60, right = 20, top = 10, bottom = 34;\n"
	"  var xmax = 0, ymax = 0;\n"
	"  D.runs.forEach(function (r) {\n"
	"    xmax = Math.max(xmax, r.span_us);\n"
	"    r.rss.forEach(function (p) {\n"
	"      xmax = Math.max(xmax, p[0]);\n"
	"      ymax = Math.max(ymax, p[1]);\n"
	"    });\n"
	"  });\n"
	"  ymax = ymax / 256;\n"
	"  var s = svg('svg', { width: W, height: H, 'class': 'mem' }, host);\n"
	"  var pw = W - left - right, ph = H - top - bottom;\n"
	"  var sx = xmax > 0 ? pw / xmax : 0, sy = ymax > 0 ? ph / (ymax * 1.05) : 0;\n"
	"  var xs = step(xmax / 1000, 8), ys = step(ymax || 1, 5);\n"
	"  for (var t = 0; xs > 0 && t <= xmax / 1000 + 1e-9; t += xs) {\n"
	"    var x = left + t * 1000 * sx;\n"
	"    svg('line', { x1: x, x2: x, y1: top, y2: top + ph, 'class': 'grid' }, s);\n"
	"    stext(s, x, H - 18, fmt(t, xs < 1 ? 2 : 0), 'middle', 'tick');\n"
	"  }\n"
	"  for (var v = 0; v <= ymax * 1.05 + 1e-9; v += ys) {\n"
	"    var y = top + ph - v * sy;\n"
	"    svg('line', { x1: left, x2: left + pw, y1: y, y2: y, 'class': 'grid' }, s);\n"
	"    stext(s, left - 4, y + 3, fmt(v, ys < 1 ? 1 : 0), 'end', 'tick');\n"
	"  }\n"
	"  stext(s, left + pw / 2, H - 3, 'ms since the run started', 'middle', 'axis');\n"
	"  stext(s, 12, top + ph / 2, 'MiB', 'middle', 'axis');\n"
	"  D.runs.forEach(function (r, ri) {\n"
	"    [1, 2].forEach(function (k) {\n"
	"      var d = '', prev = null;\n"
	"      r.rss.forEach(function (p) {\n"
	"        var x = left + p[0] * sx, y = top + ph - p[k] / 256 * sy;\n"
	"        d += prev === null ? 'M' + fmt(x, 1) + ',' + fmt(y, 1) :\n"
	"          'H' + fmt(x, 1) + 'V' + fmt(y, 1);\n"
	"        prev = y;\n"
	"      });\n"
	"      if (d)\n"
	"        svg('path', { d: d, fill: 'none', stroke: runColor(ri),\n"
	"          'stroke-width': k === 1 ? 2 : 1.5,\n"
	"          'stroke-dasharray': k === 1 ? 'none' : '5,3',\n"
	"          'class': 'line' }, s);\n"
	"    });\n"
	"  });\n"
	"  var items = [];\n"
	"  D.runs.forEach(function (r, i) {\n"
	"    items.push([r.name + ': RSS summed, peak ' + fmt(r.rss_peak_pages / 256, 1) +\n"
	"          ' MiB', runColor(i)]);\n"
	"    items.push([r.name + ': pages shared after fork once, peak ' +\n"
	"          fmt(r.rss_cow_peak_pages / 256, 1) + ' MiB', runColor(i), true]);\n"
	"  });\n"
	"  legend(host, items);\n"
	"  if (!D.runs.some(function (r) { return r.rss.length; }))\n"
	"    host.appendChild(el('p', 'note', 'No memory samples in this trace.'));\n"
	"}\n"
	"\n"
	"/* ---- Gantt ---------------------------------------------------------- */\n"
	"\n"
	"var ROW_MAX_PX = 30000;	/* a canvas taller than 32767 px draws nothing */\n"
	"var LABEL_PX = 250;	/* the same for every run: one time scale */\n"
	"\n"
	"function drawGanttRun(host, r, ri, xmax) {\n"
	"  var box = el('div', 'gantt-run');\n"
	"  box.setAttribute('data-run', ri);\n"
	"  box.appendChild(el('h3', null, r.name + ': ' + r.ntasks + ' tasks in ' +\n"
	"    r.procs.length + ' processes'));\n"
	"  host.appendChild(box);\n"
	"  var rows = [];\n"
	"  /* A process of several tasks gets a heading row, its threads indented. */\n"
	"  r.procs.forEach(function (p) {\n"
	"    if (p.tasks.length > 1)\n"
	"      rows.push({ proc: p });\n"
	"    p.tasks.forEach(function (t) { rows.push({ task: t, proc: p }); });\n"
	"  });\n"
	"  var rh = 14;\n"
	"  if (rows.length * rh > ROW_MAX_PX)\n"
	"    rh = Math.max(2, Math.floor(ROW_MAX_PX / rows.length));\n"
	"  var shown = Math.min(rows.length, Math.floor(ROW_MAX_PX / rh));\n"
	"  var head = 22;\n"
	"  var wrap = el('div', 'gantt-body');\n"
	"  box.appendChild(wrap);\n"
	"  var labels = el('div', 'gantt-labels');\n"
	"  labels.style.paddingTop = head + 'px';\n"
	"  labels.style.width = LABEL_PX + 'px';\n"
	"  wrap.appendChild(labels);\n"
	"  rows.forEach(function (row, i) {\n"
	"    var d;\n"
	"    if (row.task) {\n"
	"      var t = row.task;\n"
	"      d = el('div', 'gantt-row' + (t.thread ? ' thread' : ''),\n"
	"             t.role + ' ' + t.comm + ' ' + t.tid);\n"
	"      d.setAttribute('data-run', ri);\n"
	"      d.setAttribute('data-tid', t.tid);\n"
	"      d.title = t.role + ', ' + t.comm + ', tid ' + t.tid +\n"
	"        (t.thread ? ' (thread)' : '') + '; ' + t.nseg + ' segments of ' +\n"
	"        t.niv + ' intervals';\n"
	"    } else {\n"
	"      d = el('div', 'gantt-proc', 'process ' + row.proc.pid + ' ' +\n"
	"             row.proc.comm + ', ' + row.proc.tasks.length + ' tasks');\n"
	"    }\n"
	"    d.style.height = rh + 'px';\n"
	"    d.style.lineHeight = rh + 'px';\n"
	"    if (rh < 9)\n"
	"      d.style.fontSize = '0';\n"
	"    if (i >= shown)\n"
	"      d.style.display = 'none';\n"
	"    labels.appendChild(d);\n"
	"  });\n"
	"  var cw = Math.max(300, width(wrap, 600) - LABEL_PX - 8);\n"
	"  var ch = head + shown * rh;\n"
	"  var cv = document.createElement('canvas');\n"
	"  cv.className = 'gantt-canvas';\n"
	"  var dpr = window.devicePixelRatio || 1;\n"
	"  cv.width = Math.floor(cw * dpr);\n"
	"  cv.height = Math.floor(ch * dpr);\n"
	"  cv.style.width = cw + 'px';\n"
	"  cv.style.height = ch + 'px';\n"
	"  wrap.appendChild(cv);\n"
	"  var g = cv.getContext('2d');\n"
	"  g.scale(dpr, dpr);\n"
	"  var sx = xmax > 0 ? (cw - 2) / xmax : 0;\n"
	"  /* Phases along the top, the time grid under everything. */\n"
	"  var st = step(xmax / 1000, 10);\n"
	"  g.font = '10px sans-serif';\n"
	"  g.fillStyle = '#f4f4f4';\n"
	"  g.fillRect(0, 0, cw, head);\n"
	"  r.phases.forEach(function (p, k) {\n"
	"    var x0 = p[1] * sx, x1 = Math.max(x0 + 1, p[2] * sx);\n"
	"    g.fillStyle = k % 2 ? '#dde3ea' : '#cfd8e2';\n"
	"    g.fillRect(x0, 1, x1 - x0, head - 10);\n"
	"    g.fillStyle = '#222';\n"
	"    if (x1 - x0 > 30)\n"
	"      g.fillText(p[0], x0 + 2, 10);\n"
	"  });\n"
	"  g.strokeStyle = '#e6e6e6';\n"
	"  g.lineWidth = 1;\n"
	"  g.fillStyle = '#555';\n"
	"  for (var t = 0; st > 0 && t <= xmax / 1000 + 1e-9; t += st) {\n"
	"    var x = Math.round(t * 1000 * sx) + 0.5;\n"
	"    g.beginPath();\n"
	"    g.moveTo(x, head - 8);\n"
	"    g.lineTo(x, ch);\n"
	"    g.stroke();\n"
	"    g.fillText(fmt(t, st < 1 ? 2 : 0), x + 2, head - 1);\n"
	"  }\n"
	"  for (var i = 0; i < shown; i++) {\n"
	"    var row = rows[i], y = head + i * rh;\n"
	"    if (!row.task) {\n"
	"      g.fillStyle = '#eef0f3';\n"
	"      g.fillRect(0, y, cw, rh);\n"
	"      continue;\n"
	"    }\n"
	"    var seg = row.task.seg, bh = Math.max(1, rh - (rh > 6 ? 3 : 1));\n"
	"    for (var j = 0; j + 2 < seg.length; j += 3) {\n"
	"      var x0 = seg[j] * sx, w = Math.max(1, seg[j + 1] * sx);\n"
	"      g.fillStyle = BCOL[seg[j + 2]] || '#000';\n"
	"      g.fillRect(x0, y + 1, w, bh);\n"
	"    }\n"
	"  }\n"
	"  /* The measured interval. */\n"
	"  [r.begin_us, r.end_us].forEach(function (v) {\n"
	"    var x = Math.round(v * sx) + 0.5;\n"
	"    g.strokeStyle = '#000';\n"
	"    g.setLineDash([3, 3]);\n"
	"    g.beginPath();\n"
	"    g.moveTo(x, head);\n"
	"    g.lineTo(x, ch);\n"
	"    g.stroke();\n"
	"    g.setLineDash([]);\n"
	"  });\n"
	"  var tip = document.getElementById('tip');\n"
	"  cv.addEventListener('mousemove', function (ev) {\n"
	"    var rc = cv.getBoundingClientRect();\n"
	"    var k = Math.floor((ev.clientY - rc.top - head) / rh);\n"
	"    var us = (ev.clientX - rc.left) / (sx || 1);\n"
	"    var row = k >= 0 && k < shown ? rows[k] : null;\n"
	"    if (!row || !row.task) {\n"
	"      tip.style.display = 'none';\n"
	"      return;\n"
	"    }\n"
	"    var seg = row.task.seg, what = 'not alive';\n"
	"    for (var j = 0; j + 2 < seg.length; j += 3)\n"
	"      if (us >= seg[j] && us < seg[j] + Math.max(seg[j + 1], 1 / (sx || 1))) {\n"
	"        what = D.bucket_labels[seg[j + 2]] + ', ' + fmt(seg[j + 1] / 1000, 3) +\n"
	"          ' ms from ' + fmt(seg[j] / 1000, 3);\n"
	"        break;\n"
	"      }\n"
	"    tip.textContent = row.task.role + ' ' + row.task.comm + ' ' + row.task.tid +\n"
	"      ' at ' + fmt(us / 1000, 3) + ' ms: ' + what;\n"
	"    tip.style.left = (ev.pageX + 12) + 'px';\n"
	"    tip.style.top = (ev.pageY + 12) + 'px';\n"
	"    tip.style.display = 'block';\n"
	"  });\n"
	"  cv.addEventListener('mouseleave', function () { tip.style.display = 'none'; });\n"
	"  if (shown < rows.length)\n"
	"    box.appendChild(el('p', 'note', 'Only the first ' + shown + ' of ' + rows.length +\n"
	"      ' rows are drawn (the canvas is at its size limit); every task is in ' +\n"
	"      'the embedded data.'));\n"
	"}\n"
	"\n"
	"function drawGantt() {\n"
	"  var host = document.getElementById('gantt-chart');\n"
	"  var xmax = 0;\n"
	"  D.runs.forEach(function (r) { xmax = Math.max(xmax, r.span_us); });\n"
	"  legend(host, D.bucket_labels.map(function (b, i) { return [b, BCOL[i]]; }));\n"
	"  D.runs.forEach(function (r, ri) { drawGanttRun(host, r, ri, xmax); });\n"
	"}\n"
	"\n"
	"function rect(id) {\n"
	"  var b = document.getElementById(id).getBoundingClientRect();\n"
	"  return [Math.round(b.left + window.scrollX), Math.round(b.top + window.scrollY),\n"
	"    Math.round(b.width), Math.round(b.height)].join(',');\n"
	"}\n"
	"\n"
	"drawBuckets();\n"
	"drawMemory();\n"
	"drawGantt();\n"
	"/* Where the charts are, for whoever checks a screenshot of the page. */\n"
	"status.setAttribute('data-bucket-rect', rect('bucket-chart'));\n"
	"status.setAttribute('data-rss-rect', rect('rss-chart'));\n"
	"status.setAttribute('data-gantt-rect', rect('gantt-chart'));\n"
	"status.setAttribute('data-page-height', document.documentElement.scrollHeight);\n"
	"status.setAttribute('data-render-ms', Math.round(performance.now() - started));\n"
	"status.setAttribute('data-rendered', '1');\n"
	"})();\n";

static const char *const bucket_label[MPX_B_MAX] = {
	[MPX_B_ONCPU] = "on CPU",
	[MPX_B_RUNQ_WAKEUP] = "runq after wakeup",
	[MPX_B_RUNQ_PREEMPT] = "runq after preemption",
	[MPX_B_SLEEP] = "sleep",
	[MPX_B_DSLEEP] = "other D sleep",
	[MPX_B_BLKIO] = "block IO wait",
	[MPX_B_UNACCOUNTED] = "unaccounted",
};

static double ms(int64_t ns)
{
	return (double)ns / 1e6;
}

/* s as HTML text or attribute value; control characters become '?'. */
static void put_html(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default:
			fputc(c < 0x20 && c != '\n' && c != '\t' ? '?' : c, f);
		}
	}
}

static void tag_text(FILE *f, const char *open, const char *s, const char *close)
{
	fputs(open, f);
	put_html(f, s);
	fputs(close, f);
}

/* JSON text into a script element: <, > and & as \u escapes (only strings
 * hold them, where the escapes mean the same characters). */
static void put_script_json(FILE *f, const char *s, size_t n)
{
	size_t i, run = 0;

	for (i = 0; i < n; i++) {
		const char *esc = s[i] == '<' ? "\\u003c" : s[i] == '>' ? "\\u003e" :
				  s[i] == '&' ? "\\u0026" : NULL;

		if (!esc)
			continue;
		fwrite(s + run, 1, i - run, f);
		fputs(esc, f);
		run = i + 1;
	}
	fwrite(s + run, 1, n - run, f);
}

static const char *role_name(const struct mpx_run_analysis *ra, size_t i)
{
	return ra->roles && ra->roles[i].name[0] ? ra->roles[i].name : "task";
}

static void run_name(const struct mpx_run_analysis *ra, char *buf, size_t sz)
{
	if (ra->run->mode == MPX_MODE_NONE)
		snprintf(buf, sz, "command");
	else
		snprintf(buf, sz, "%s run %d", mpx_mode_name(ra->run->mode), ra->run->repeat + 1);
}

/* ---- timeline data -------------------------------------------------------- */

/* Time zero of a run's charts: the workload's release. */
static uint64_t origin_of(const struct mpx_run_analysis *ra)
{
	const struct mpx_model *m = &ra->run->m;

	return m->t0 ? m->t0 : m->first_ns;
}

static uint64_t span_of(const struct mpx_run_analysis *ra)
{
	const struct mpx_report *rep = &ra->rep;
	uint64_t o = origin_of(ra), last = ra->end;
	size_t i;

	for (i = 0; i < rep->nrows; i++)
		if (rep->rows[i].t->end_ns > last)
			last = rep->rows[i].t->end_ns;
	return last > o ? last - o : 0;
}

static uint64_t us(uint64_t ts, uint64_t origin)
{
	return ts > origin ? (ts - origin + 500) / 1000 : 0;
}

struct seg_acc {
	struct json_writer *w;	/* NULL: only count */
	uint64_t origin;
	size_t nseg;
	/* the block being merged */
	uint64_t start, end;
	uint64_t ns[MPX_B_MAX];
};

static void seg_put(struct seg_acc *a, uint64_t s, uint64_t e, int b)
{
	uint64_t su = us(s, a->origin);

	a->nseg++;
	if (!a->w)
		return;
	jw_u64(a->w, su);
	jw_u64(a->w, us(e, a->origin) - su);
	jw_u64(a->w, (uint64_t)b);
}

static void seg_flush(struct seg_acc *a)
{
	int b, best = 0;

	if (a->end <= a->start)
		return;
	for (b = 1; b < MPX_B_MAX; b++)
		if (a->ns[b] > a->ns[best])
			best = b;
	seg_put(a, a->start, a->end, best);
	memset(a->ns, 0, sizeof(a->ns));
	a->start = a->end = 0;
}

/*
 * A task's intervals as segments at resolution q (ns): intervals of q or
 * longer as they are, shorter runs of them merged into blocks of about q.
 * Returns the number of segments; w: where to write them (s, d, bucket
 * triples, microseconds), NULL to count only.  *niv: intervals seen.
 */
static size_t task_segments(const struct mpx_task *t, uint64_t origin, uint64_t q,
			    struct json_writer *w, size_t *niv)
{
	struct seg_acc a = { .w = w, .origin = origin };
	uint64_t last = 0;
	size_t j, n = 0;

	for (j = 0; j < t->niv; j++) {
		const struct mpx_ival *v = &t->iv[j];
		uint64_t s = v->start > last ? v->start : last;
		int b = mpx_state_bucket((enum mpx_tstate)v->state);

		if (v->end <= s)
			continue;
		n++;
		last = v->end;
		if (v->end - s >= q) {
			seg_flush(&a);
			seg_put(&a, s, v->end, b);
			continue;
		}
		if (a.end <= a.start)
			a.start = s;
		a.end = v->end;
		a.ns[b] += v->end - s;
		if (a.end - a.start >= q)
			seg_flush(&a);
	}
	seg_flush(&a);
	if (niv)
		*niv = n;
	return a.nseg;
}

/* The coarsest resolution needed to keep the page under MPX_HTML_MAX_SEGS. */
static uint64_t resolution(const struct mpx_analysis *an, size_t *nseg, size_t *niv)
{
	uint64_t span = 0, q;
	size_t i, r;

	for (i = 0; i < an->n; i++)
		if (span_of(&an->ra[i]) > span)
			span = span_of(&an->ra[i]);
	q = span / HTML_BINS;
	if (q < 1000)
		q = 1000;
	for (;;) {
		*nseg = *niv = 0;
		for (i = 0; i < an->n; i++) {
			const struct mpx_run_analysis *ra = &an->ra[i];
			uint64_t o = origin_of(ra);

			for (r = 0; r < ra->rep.nrows; r++) {
				size_t k;

				*nseg += task_segments(ra->rep.rows[r].t, o, q, NULL, &k);
				*niv += k;
			}
		}
		if (*nseg <= MPX_HTML_MAX_SEGS || q > span)
			return q;
		q *= 2;
	}
}

/* Tasks by (pid, row): equal pids are one process. */
struct proc_key {
	uint32_t pid;
	uint32_t row;
};

static int cmp_proc_key(const void *a, const void *b)
{
	const struct proc_key *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

struct proc_group {
	size_t first, n;	/* its keys */
};

static int cmp_group(const void *a, const void *b, void *arg)
{
	const struct proc_group *x = a, *y = b;
	const struct proc_key *k = arg;

	return k[x->first].row < k[y->first].row ? -1 : k[x->first].row > k[y->first].row;
}

static int gantt_json(struct json_writer *w, const struct mpx_run_analysis *ra, uint64_t q)
{
	const struct mpx_report *rep = &ra->rep;
	const struct mpx_model *m = &ra->run->m;
	uint64_t origin = origin_of(ra);
	struct proc_key *k = calloc(rep->nrows + 1, sizeof(*k));
	struct proc_group *g = calloc(rep->nrows + 1, sizeof(*g));
	size_t i, j, ng = 0;

	if (!k || !g) {
		free(k);
		free(g);
		return -ENOMEM;
	}
	for (i = 0; i < rep->nrows; i++)
		k[i] = (struct proc_key){ rep->rows[i].t->pid, (uint32_t)i };
	qsort(k, rep->nrows, sizeof(*k), cmp_proc_key);
	for (i = 0; i < rep->nrows; i = j) {
		for (j = i; j < rep->nrows && k[j].pid == k[i].pid; j++)
			;
		g[ng++] = (struct proc_group){ i, j - i };
	}
	/* Processes in report order: the root's first, children after. */
	qsort_r(g, ng, sizeof(*g), cmp_group, k);
	jw_key(w, "procs");
	jw_start_array(w);
	for (i = 0; i < ng; i++) {
		const struct mpx_task *lead = rep->rows[k[g[i].first].row].t;

		for (j = 0; j < g[i].n; j++)
			if (!rep->rows[k[g[i].first + j].row].t->is_thread) {
				lead = rep->rows[k[g[i].first + j].row].t;
				break;
			}
		jw_start_object(w);
		jw_kv_u64(w, "pid", lead->pid);
		jw_kv_string(w, "comm", lead->comm);
		jw_key(w, "tasks");
		jw_start_array(w);
		for (j = 0; j < g[i].n; j++) {
			const struct mpx_task *t = rep->rows[k[g[i].first + j].row].t;
			size_t niv, nseg = task_segments(t, origin, q, NULL, &niv);

			jw_start_object(w);
			jw_kv_u64(w, "tid", t->tid);
			jw_kv_string(w, "role", role_name(ra, (size_t)(t - m->tasks)));
			jw_kv_string(w, "comm", t->comm);
			jw_kv_bool(w, "thread", t->is_thread);
			jw_kv_u64(w, "start_us", us(t->start_ns, origin));
			jw_kv_u64(w, "end_us", us(t->end_ns, origin));
			jw_kv_u64(w, "niv", niv);
			jw_kv_u64(w, "nseg", nseg);
			jw_key(w, "seg");
			jw_start_array(w);
			task_segments(t, origin, q, w, NULL);
			jw_end_array(w);
			jw_end_object(w);
		}
		jw_end_array(w);
		jw_end_object(w);
	}
	jw_end_array(w);
	free(k);
	free(g);
	return 0;
}

/* ---- memory data ---------------------------------------------------------- */

struct rss_pt {
	uint64_t ts, sum, cow;
};

struct rss_series {
	struct rss_pt *p;
	size_t n, cap;
	int err;
};

static void rss_add(void *ctx, uint64_t ts, uint64_t sum, uint64_t cow)
{
	struct rss_series *s = ctx;

	if (s->err)
		return;
	if (mpx_grow((void **)&s->p, &s->cap, s->n + 1, sizeof(*s->p))) {
		s->err = -ENOMEM;
		return;
	}
	s->p[s->n++] = (struct rss_pt){ ts, sum, cow };
}

/* The footprint over time, at most HTML_RSS_POINTS points: per time bin
 * the highest values, so that the peaks show. */
static int rss_json(struct json_writer *w, const struct mpx_run_analysis *ra)
{
	struct rss_series s = {};
	uint64_t origin = origin_of(ra), span, t0, t1;
	size_t i, j;

	analysis__footprint_series(ra, rss_add, &s);
	if (s.err) {
		free(s.p);
		return s.err;
	}
	jw_key(w, "rss");
	jw_start_array(w);
	t0 = s.n ? s.p[0].ts : 0;
	t1 = s.n ? s.p[s.n - 1].ts : 0;
	span = t1 - t0 + 1;
	for (i = 0; i < s.n; i = j) {
		uint64_t bin = (s.p[i].ts - t0) * (HTML_RSS_POINTS / 2) / span;
		struct rss_pt best = s.p[i];

		for (j = i + 1; s.n > HTML_RSS_POINTS && j < s.n &&
		     (s.p[j].ts - t0) * (HTML_RSS_POINTS / 2) / span == bin; j++) {
			if (s.p[j].sum > best.sum)
				best.sum = s.p[j].sum;
			if (s.p[j].cow > best.cow)
				best.cow = s.p[j].cow;
		}
		/* A bin ends on its last value, so that the step after it is right. */
		jw_start_array(w);
		jw_u64(w, us(best.ts, origin));
		jw_u64(w, best.sum);
		jw_u64(w, best.cow);
		jw_end_array(w);
		if (j > i + 1) {
			jw_start_array(w);
			jw_u64(w, us(s.p[j - 1].ts, origin));
			jw_u64(w, s.p[j - 1].sum);
			jw_u64(w, s.p[j - 1].cow);
			jw_end_array(w);
		}
	}
	jw_end_array(w);
	free(s.p);
	return 0;
}

/* ---- the JSON document ---------------------------------------------------- */

static int run_data(struct json_writer *w, const struct mpx_run_analysis *ra, uint64_t q)
{
	uint64_t origin = origin_of(ra), cp[MPX_B_MAX] = { 0 };
	char name[64];
	size_t i;
	int p, b, err;

	run_name(ra, name, sizeof(name));
	jw_start_object(w);
	jw_kv_string(w, "name", name);
	jw_kv_string(w, "mode", mpx_mode_name(ra->run->mode));
	jw_kv_u64(w, "origin_ns", origin);
	jw_kv_u64(w, "span_us", (span_of(ra) + 500) / 1000);
	jw_kv_u64(w, "begin_us", us(ra->begin, origin));
	jw_kv_u64(w, "end_us", us(ra->end, origin));
	jw_kv_u64(w, "ntasks", ra->rep.nrows);
	jw_key(w, "phases");
	jw_start_array(w);
	for (p = 0; p <= ra->nph; p++) {
		const struct mpx_phase *ph = p < ra->nph ? &ra->ph[p] : &ra->teardown;

		if (p == ra->nph && !ra->markers)
			break;
		jw_start_array(w);
		jw_string(w, ph->name);
		jw_u64(w, us(ph->start, origin));
		jw_u64(w, us(ph->end, origin));
		jw_end_array(w);
	}
	jw_end_array(w);
	jw_key(w, "totals_ns");
	jw_start_array(w);
	for (b = 0; b < MPX_B_MAX; b++)
		jw_u64(w, ra->rep.total[b]);
	jw_end_array(w);
	for (i = 0; i < ra->ncpt; i++)
		if (ra->cpt[i].ns > 0)
			cp[ra->cpt[i].bucket] += (uint64_t)ra->cpt[i].ns;
	jw_key(w, "cp_ns");
	jw_start_array(w);
	for (b = 0; b < MPX_B_MAX; b++)
		jw_u64(w, cp[b]);
	jw_end_array(w);
	jw_kv_u64(w, "rss_peak_pages", ra->footprint_peak);
	jw_kv_u64(w, "rss_cow_peak_pages", ra->footprint_cow_peak);
	err = rss_json(w, ra);
	if (!err)
		err = gantt_json(w, ra, q);
	jw_end_object(w);
	return err;
}

/* The data as a malloc'd JSON text. */
static int data_json(const struct mpx_analysis *an, uint64_t q, size_t nseg, size_t niv,
		     char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);
	struct json_writer *w;
	size_t i;
	int b, err = 0;

	if (!f)
		return -errno;
	w = jw_new(f, false);
	if (!w) {
		fclose(f);
		return -ENOMEM;
	}
	jw_start_object(w);
	jw_kv_string(w, "producer", "mpxtrace " MPX_VERSION);
	jw_key(w, "buckets");
	jw_start_array(w);
	for (b = 0; b < MPX_B_MAX; b++)
		jw_string(w, mpx_bucket_name(b));
	jw_end_array(w);
	jw_key(w, "bucket_labels");
	jw_start_array(w);
	for (b = 0; b < MPX_B_MAX; b++)
		jw_string(w, bucket_label[b]);
	jw_end_array(w);
	jw_kv_u64(w, "resolution_ns", q);
	jw_kv_u64(w, "intervals", niv);
	jw_kv_u64(w, "segments", nseg);
	jw_key(w, "runs");
	jw_start_array(w);
	for (i = 0; i < an->n && !err; i++)
		err = run_data(w, &an->ra[i], q);
	jw_end_array(w);
	jw_end_object(w);
	jw_free(w);
	if (fclose(f) && !err)
		err = -ENOMEM;
	return err;
}

/* ---- the text ------------------------------------------------------------- */

static void title(const struct mpx_analysis *an, FILE *f)
{
	const struct mpx_runset *rs = an->rs;
	const struct mpx_workload_opts *w = &rs->work;
	char buf[1400];

	if (rs->builtin)
		snprintf(buf, sizeof(buf), "%s: %u %s task%s, %s%s%s%s",
			 w->mode == MPX_MODE_BOTH ? "Process vs Pool" :
			 w->mode == MPX_MODE_POOL ? "Pool" : "Process",
			 w->tasks, w->kind ? w->kind : "", w->tasks == 1 ? "" : "s",
			 w->runtime == MPX_RT_NATIVE ? "native C" : "Python multiprocessing",
			 w->runtime != MPX_RT_NATIVE ? " (" : "",
			 w->runtime != MPX_RT_NATIVE && w->start_method ? w->start_method : "",
			 w->runtime != MPX_RT_NATIVE ? ")" : "");
	else
		snprintf(buf, sizeof(buf), "%s", an->n ? an->ra[0].run->info.command : "");
	tag_text(f, "<title>mpxtrace: ", buf, "</title>\n");
	fputs("</head>\n<body>\n", f);
	tag_text(f, "<h1>mpxtrace: ", buf, "</h1>\n");
}

static void meta(const struct mpx_analysis *an, FILE *f)
{
	const struct mpx_run_info *ri = an->n ? &an->ra[0].run->info : NULL;
	char buf[512];

	if (ri) {
		snprintf(buf, sizeof(buf), "Linux %s, %d CPUs, programs attached as %s.",
			 ri->kernel, ri->ncpus, ri->attach ? ri->attach : "?");
		tag_text(f, "<p class=\"meta\">", buf, "</p>\n");
	}
	if (ri && !an->rs->builtin) {
		const struct mpx_report *rep = &an->ra[0].rep;
		char st[64] = "still running";

		if (ri->exited)
			report__status_str(ri->exit_status, st, sizeof(st));
		snprintf(buf, sizeof(buf), "The command: %s%s, wall %.2f ms, %zu tasks "
			 "(%u processes, %u threads).", st,
			 ri->interrupted ? " (interrupted: partial trace)" : "",
			 ms((int64_t)rep->wall_ns), rep->m->ntasks, rep->nprocs, rep->nthreads);
		tag_text(f, "<p class=\"meta\" id=\"command-status\">", buf, "</p>\n");
	}
	if (an->rs->note)
		tag_text(f, "<p class=\"note\">note: ", an->rs->note, "</p>\n");
}

static void summary(const struct mpx_analysis *an, FILE *f)
{
	const struct mpx_explanation *ex = &an->ex;
	char buf[256];
	size_t i;
	int p, k;

	fputs("<table id=\"summary\">\n<tr><th>run</th><th class=\"n\">measured ms</th>"
	      "<th>phases, ms</th><th class=\"n\">tree peak RSS, MiB</th>"
	      "<th class=\"n\">shared pages once, MiB</th></tr>\n", f);
	for (i = 0; i < an->n; i++) {
		const struct mpx_run_analysis *ra = &an->ra[i];

		run_name(ra, buf, sizeof(buf));
		tag_text(f, "<tr><td>", buf, "</td>");
		fprintf(f, "<td class=\"n\">%.2f</td><td>", ms((int64_t)(ra->end - ra->begin)));
		for (p = 0; p < ra->nph; p++) {
			snprintf(buf, sizeof(buf), "%s%s %.2f", p ? ", " : "", ra->ph[p].name,
				 ms((int64_t)(ra->ph[p].end - ra->ph[p].start)));
			put_html(f, buf);
		}
		if (ra->markers)
			fprintf(f, "; teardown %.2f after",
				ms((int64_t)(ra->teardown.end - ra->teardown.start)));
		fprintf(f, "</td><td class=\"n\">%.1f</td><td class=\"n\">%.1f</td></tr>\n",
			(double)ra->footprint_peak / 256.0, (double)ra->footprint_cow_peak / 256.0);
	}
	fputs("</table>\n", f);
	if (an->have_expl && (ex->nruns[0] > 1 || ex->nruns[1] > 1))
		for (k = 0; k < 2; k++)
			fprintf(f, "<p class=\"meta\">%s over %d runs: median %.2f ms, min %.2f, "
				"max %.2f</p>\n", k ? "pool" : "process", ex->nruns[k],
				ms((int64_t)ex->med_ns[k]), ms((int64_t)ex->min_ns[k]),
				ms((int64_t)ex->max_ns[k]));
}

static void explanation(const struct mpx_analysis *an, FILE *f)
{
	const struct mpx_explanation *ex = &an->ex;
	int64_t rest = ex->contrib_rest_ns;
	char run_a[64], run_b[64];
	int k;

	run_name(&an->ra[ex->a], run_a, sizeof(run_a));
	run_name(&an->ra[ex->b], run_b, sizeof(run_b));
	fputs("<h2>Why</h2>\n<ol class=\"why\" id=\"why\">\n", f);
	for (k = 0; k < ex->nsentences; k++)
		tag_text(f, "<li>", ex->sentence[k], "</li>\n");
	fputs("</ol>\n", f);
	fprintf(f, "<h3>Where the %+.2f ms come from (critical path, pool minus process; "
		"%s against %s)</h3>\n", ms(ex->delta_ns), run_b, run_a);
	fputs("<table id=\"contrib\">\n<tr><th class=\"n\">delta ms</th><th>phase</th>"
	      "<th>role</th><th>state</th><th class=\"n\">process</th><th class=\"n\">pool"
	      "</th></tr>\n", f);
	for (k = 0; k < ex->ncontrib && k < 10; k++) {
		const struct mpx_contrib *c = &ex->contrib[k];

		fprintf(f, "<tr><td class=\"n\">%+.2f</td><td>%s</td><td>%s</td><td>%s</td>"
			"<td class=\"n\">%.2f</td><td class=\"n\">%.2f</td></tr>\n", ms(c->ns),
			mpx_phase_class_name(c->phase), mpx_role_class_name(c->role),
			mpx_bucket_name(c->bucket), ms(c->a_ns), ms(c->b_ns));
	}
	for (; k < ex->ncontrib; k++)
		rest += ex->contrib[k].ns;
	fprintf(f, "<tr><td class=\"n\">%+.2f</td><td colspan=\"5\">(everything else)</td>"
		"</tr>\n</table>\n", ms(rest));

	fputs("<h3>The post's claims, against this run</h3>\n<ol id=\"claims\">\n", f);
	for (k = 0; k < MPX_NCLAIMS; k++) {
		const struct mpx_claim *c = &ex->claims[k];

		tag_text(f, "<li>&ldquo;", c->claim, "&rdquo;: ");
		tag_text(f, "<span class=\"verdict\">", mpx_verdict_name(c->verdict), "</span>. ");
		if (c->evidence[0]) {
			char buf[sizeof(c->evidence)];

			snprintf(buf, sizeof(buf), "%s", c->evidence);
			buf[0] = (char)toupper((unsigned char)buf[0]);
			put_html(f, buf);
			fputc('.', f);
		}
		tag_text(f, "<br><span class=\"meta\">test with: mpxtrace ", c->test_with,
			 "</span></li>\n");
	}
	fputs("</ol>\n", f);
}

/* The text report, as printed, for whoever wants every figure. */
static int text_report(const struct mpx_analysis *an, FILE *f)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return -errno;
	output__text(an, m, false);
	if (fclose(m)) {
		free(buf);
		return -ENOMEM;
	}
	fputs("<details id=\"text-report\"><summary>The text report</summary>\n<pre>", f);
	put_html(f, buf);
	fputs("</pre>\n</details>\n", f);
	free(buf);
	return 0;
}

static void gantt_note(FILE *f, uint64_t q, size_t nseg, size_t niv)
{
	fprintf(f, "<p class=\"note\" id=\"gantt-note\">Every task of every run, grouped by "
		"process, on one time scale (ms since the workload was released); dashed lines "
		"mark the measured interval. ");
	if (nseg < niv)
		fprintf(f, "Drawn at a resolution of %.3f ms: runs of intervals shorter than "
			"that are merged into one segment in the state that took most of it "
			"(%zu intervals shown as %zu segments; the bucket bars and the text "
			"report count every interval).", ms((int64_t)q), niv, nseg);
	else
		fprintf(f, "All %zu intervals are drawn.", niv);
	fputs("</p>\n", f);
}

int html__emit(const struct mpx_analysis *an, FILE *f)
{
	char *data = NULL;
	size_t len = 0, nseg, niv;
	uint64_t q = resolution(an, &nseg, &niv);
	int err;

	err = data_json(an, q, nseg, niv, &data, &len);
	if (err) {
		free(data);
		return err;
	}
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"generator\" content=\"mpxtrace " MPX_VERSION "\">\n", f);
	fprintf(f, "<style>\n%s</style>\n<script>\n%s</script>\n", html_css, html_head_js);
	title(an, f);
	meta(an, f);
	if (an->rs->builtin)
		summary(an, f);
	if (an->have_expl)
		explanation(an, f);
	fputs("<h2>Where the time went</h2>\n<div id=\"bucket-chart\" class=\"chart\"></div>\n"
	      "<h2>Memory of the process tree</h2>\n<p class=\"note\">The RSS of every live "
	      "process summed (solid), and the same with the pages a child shares with its "
	      "parent after fork counted once (dashed).</p>\n"
	      "<div id=\"rss-chart\" class=\"chart\"></div>\n"
	      "<h2>Tasks over time</h2>\n", f);
	gantt_note(f, q, nseg, niv);
	fputs("<div id=\"gantt-chart\" class=\"chart\"></div>\n", f);
	err = text_report(an, f);
	fputs("<div id=\"tip\"></div>\n<p id=\"mpx-status\" data-rendered=\"0\"></p>\n"
	      "<noscript><p>The charts need JavaScript.</p></noscript>\n"
	      "<script id=\"mpx-data\" type=\"application/json\">", f);
	put_script_json(f, data, len);
	fprintf(f, "</script>\n<script>\n%s</script>\n</body>\n</html>\n", html_js);
	free(data);
	return err;
}

/* ---- files ---------------------------------------------------------------- */

int html__check(const char *path)
{
	struct stat st;

	if (!stat(path, &st) && S_ISDIR(st.st_mode))
		return -EISDIR;
	return mpx_check_out(path);
}

int html__write(const struct mpx_analysis *an, const char *path)
{
	char *tmp = NULL;
	FILE *f = NULL;
	int fd, err;

	fd = mpx_open_tmp(path, &tmp);
	if (fd < 0) {
		free(tmp);
		return fd;
	}
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		close(fd);
		goto out;
	}
	errno = 0;
	err = html__emit(an, f);
	if (!err && (ferror(f) || fflush(f)))
		err = errno ? -errno : -EIO;
	errno = 0;
	if (fclose(f) && !err)
		err = errno ? -errno : -EIO;
	if (!err)
		err = mpx_commit_out(path, tmp);
out:
	if (err)
		mpx_abort_out(tmp);
	free(tmp);
	return err;
}
