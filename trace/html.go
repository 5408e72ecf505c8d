package trace

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tcpfsm/tcpfsm/cc"
)

//go:embed diagram_gen.svg
var tcpDiagram string

// HTMLSink writes one self-contained HTML page (no network fetches): the
// capture's summary, the TCP state diagram with the path each end of the
// chosen connection took highlighted, and per connection both ends'
// timelines, its findings and its segments with their rules and
// deviations. The page is written by Summary. It keeps at most HTMLConns
// connections in detail and HTMLSegments segments of each (the rest are
// counted), so its memory is bounded whatever the capture.
type HTMLSink struct {
	w     io.Writer
	open  map[int]*htmlConn
	done  []*htmlConn
	more  int // connections beyond HTMLConns
	start time.Time
}

// Bounds of the HTML report.
const (
	HTMLConns    = 200
	HTMLSegments = 500
)

type htmlConn struct {
	ID         int           `json:"id"`
	Ends       [2]string     `json:"ends"`
	Start      float64       `json:"start"` // ms from the capture's first segment
	End        float64       `json:"end"`
	Paths      [2][]htmlSpan `json:"paths"`
	Findings   []Finding     `json:"findings"`
	Segments   []htmlSeg     `json:"segments"`
	More       int           `json:"more"` // segments not kept
	Deviations int           `json:"deviations"`
	Bytes      [2]int64      `json:"bytes"`
	first      time.Time
}

type htmlSpan struct {
	State string  `json:"state"`
	At    float64 `json:"at"` // ms from the connection's first segment
}

type htmlSeg struct {
	Frame  int            `json:"frame"`
	At     float64        `json:"at"`
	Dir    int            `json:"dir"`
	Label  string         `json:"label"`
	Before [2]string      `json:"before"`
	After  [2]string      `json:"after"`
	Send   string         `json:"send"`
	Hidden string         `json:"hidden,omitempty"`
	Recv   string         `json:"recv"`
	RFC    string         `json:"rfc,omitempty"`
	Kinds  []string       `json:"kinds,omitempty"`
	Dev    *jsonDeviation `json:"dev,omitempty"`
}

// NewHTMLSink writes the page to w when Summary is called.
func NewHTMLSink(w io.Writer) *HTMLSink {
	return &HTMLSink{w: w, open: map[int]*htmlConn{}}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (h *HTMLSink) Segment(v *Verdict) error {
	s := v.Seg
	if h.start.IsZero() {
		h.start = s.Time
	}
	c := h.open[v.Conn]
	if c == nil {
		if v.Conn > HTMLConns {
			return nil
		}
		c = &htmlConn{ID: v.Conn, Ends: [2]string{endAddr(v, 0), endAddr(v, 1)}, Start: ms(s.Time.Sub(h.start)), first: s.Time}
		h.open[v.Conn] = c
	}
	if len(c.Segments) >= HTMLSegments {
		c.More++
		return nil
	}
	g := htmlSeg{
		Frame: s.Frame, At: ms(s.Time.Sub(c.first)), Dir: v.Dir,
		Label:  strings.Trim(arrow(v), "<-> "),
		Before: [2]string{v.Before[0].String(), v.Before[1].String()},
		After:  [2]string{v.States[0].String(), v.States[1].String()},
		Send:   v.Send.String(), Recv: v.RecvR.String(), RFC: ruleRFC(v.RecvR),
		Kinds: (v.Kind &^ KindOffload).Names(),
	}
	if v.Hidden != HiddenNone {
		g.Hidden = v.Hidden.String()
	}
	if v.CC != cc.RuleNone {
		g.Kinds = append(g.Kinds, "cc:"+v.CC.String())
	}
	if d := v.Deviation; d != nil {
		g.Dev = &jsonDeviation{Side: endAddr(v, d.Side), Expected: d.Expected, RFC: d.RFC, Why: d.Why}
	}
	c.Segments = append(c.Segments, g)
	return nil
}

func (h *HTMLSink) Conn(s *ConnSummary) error {
	c := h.open[s.ID]
	delete(h.open, s.ID)
	if c == nil {
		h.more++
		return nil
	}
	c.End = c.Start + ms(s.Last.Sub(s.First))
	for i, p := range s.Path {
		for _, sp := range p {
			c.Paths[i] = append(c.Paths[i], htmlSpan{State: sp.State.String(), At: ms(sp.Since.Sub(s.First))})
		}
	}
	c.Findings, c.Deviations, c.Bytes = s.Findings, s.Deviations, s.Bytes
	h.done = append(h.done, c)
	return nil
}

// Summary writes the page.
func (h *HTMLSink) Summary(s *Summary) error {
	data := struct {
		Frames     int            `json:"frames"`
		Segments   int            `json:"segments"`
		Conns      int            `json:"conns"`
		Deviations int            `json:"deviations"`
		Final      map[string]int `json:"final"`
		Findings   map[string]int `json:"findings"`
		Offloaded  int            `json:"offloaded"`
		Flood      []string       `json:"flood"`
		Detail     []*htmlConn    `json:"detail"`
		More       int            `json:"more"`
	}{s.Frames, s.Segments, s.Conns, s.Deviations, s.Final, s.Findings, s.Offloaded, s.Flood, h.done, h.more}
	js, err := json.Marshal(&data) // escapes <, > and &: safe inside <script>
	if err != nil {
		return err
	}
	svg := tcpDiagram
	if i := strings.Index(svg, "<svg"); i >= 0 {
		svg = svg[i:] // inline: without the XML declaration and DOCTYPE
	}
	_, err = fmt.Fprintf(h.w, htmlPage, js, svg)
	return err
}

// htmlPage is the report: %[1]s the data, %[2]s the state diagram. The
// script renders everything from the data with textContent (nothing from
// the capture becomes markup), marks the body data-rendered="ok" when it
// is done, and records any script error in data-errors.
const htmlPage = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>tcpfsm trace</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.5em; }
table { border-collapse: collapse; font: 12px ui-monospace, monospace; }
td, th { border-bottom: 1px solid #ddd; padding: 2px 6px; text-align: left; white-space: nowrap; }
tr.dev td { background: #fdd; }
.finding { margin: 2px 0; } .dev { color: #b00; font-weight: bold; }
#diagram { max-width: 100%%; overflow: auto; border: 1px solid #ddd; }
#diagram svg { max-width: 100%%; height: auto; }
.hl-a polygon, .hl-a ellipse, .hl-a path { stroke: #d03030 !important; stroke-width: 4px !important; }
.hl-b polygon, .hl-b ellipse, .hl-b path { stroke: #e07b00 !important; stroke-width: 4px !important; }
.hl-ab polygon, .hl-ab ellipse, .hl-ab path { stroke: #7a3fb0 !important; stroke-width: 5px !important; }
.legend span { display: inline-block; width: 1em; height: 0.6em; margin: 0 4px 0 12px; }
</style></head>
<body>
<h1>tcpfsm trace</h1>
<div id="summary"></div>
<h2>The state diagram: the path each end took</h2>
<p>Connection <select id="pick"></select>
<span class="legend"><span style="background:#d03030"></span>first end <span style="background:#e07b00"></span>second end <span style="background:#7a3fb0"></span>both</span></p>
<div id="diagram">%[2]s</div>
<div id="conns"></div>
<script type="application/json" id="data">%[1]s</script>
<script>
"use strict";
window.onerror = function (msg) {
  document.body.dataset.errors = (document.body.dataset.errors || "") + msg + ";";
};
(function () {
  const data = JSON.parse(document.getElementById("data").textContent);
  const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; };
  const sum = document.getElementById("summary");
  sum.appendChild(el("p", data.frames + " frames, " + data.segments + " TCP segments in " + data.conns + " connections, " + data.deviations + " deviations" +
    (data.offloaded ? "; " + data.offloaded + " segments with offloaded checksums" : "") + "."));
  const table = (rows, head) => {
    const t = el("table"); const h = el("tr"); head.forEach(x => h.appendChild(el("th", x))); t.appendChild(h);
    rows.forEach(r => { const tr = el("tr"); r.forEach(x => tr.appendChild(el("td", String(x)))); t.appendChild(tr); });
    return t;
  };
  const finals = Object.entries(data.final || {}).sort();
  if (finals.length) { sum.appendChild(el("h2", "Final states")); sum.appendChild(table(finals, ["first end / second end", "connections"])); }
  const kinds = Object.entries(data.findings || {}).sort();
  if (kinds.length) { sum.appendChild(el("h2", "Findings")); sum.appendChild(table(kinds, ["kind", "count"])); }
  (data.flood || []).forEach(f => sum.appendChild(el("p", "SYN flood? " + f, "dev")));
  if (data.more) sum.appendChild(el("p", data.more + " connections more are counted above but not shown in detail."));

  // The diagram: nodes and edges carry their names in <title>.
  const svg = document.querySelector("#diagram svg");
  const nodes = {}, edges = {};
  svg.querySelectorAll("g.node").forEach(g => { nodes[g.querySelector("title").textContent] = g; });
  svg.querySelectorAll("g.edge").forEach(g => { edges[g.querySelector("title").textContent] = g; });
  function highlight(c) {
    svg.querySelectorAll(".hl-a,.hl-b,.hl-ab").forEach(g => g.classList.remove("hl-a", "hl-b", "hl-ab"));
    const mark = (g, side) => {
      if (!g) return;
      const other = side === "hl-a" ? "hl-b" : "hl-a";
      if (g.classList.contains(other) || g.classList.contains("hl-ab")) { g.classList.remove(other); g.classList.add("hl-ab"); }
      else g.classList.add(side);
    };
    c.paths.forEach((p, i) => {
      const side = i === 0 ? "hl-a" : "hl-b";
      p.forEach((s, j) => {
        mark(nodes[s.state], side);
        if (j > 0) mark(edges[p[j - 1].state + "->" + s.state], side);
      });
    });
  }
  const pick = document.getElementById("pick");
  data.detail.sort((a, b) => a.id - b.id);
  data.detail.forEach(c => { const o = el("option", "#" + c.id + " " + c.ends[0] + " \u2194 " + c.ends[1]); o.value = c.id; pick.appendChild(o); });
  pick.onchange = () => highlight(data.detail.find(c => String(c.id) === pick.value));
  if (data.detail.length) highlight(data.detail[0]);

  // Each connection: timelines, findings, segments.
  const conns = document.getElementById("conns");
  const colors = {};
  let hue = 0;
  const color = s => colors[s] || (colors[s] = "hsl(" + ((hue += 67) %% 360) + ",60%%,72%%)");
  const ns = "http://www.w3.org/2000/svg";
  function timeline(c) {
    const w = 900, row = 22, t = el("div");
    const s = document.createElementNS(ns, "svg");
    s.setAttribute("width", w); s.setAttribute("height", 2 * row + 4);
    const span = Math.max(c.end - c.start, 0.001);
    c.paths.forEach((p, i) => {
      p.forEach((st, j) => {
        const end = j + 1 < p.length ? p[j + 1].at : span;
        const x = 200 + (w - 210) * st.at / span, x2 = 200 + (w - 210) * end / span;
        const r = document.createElementNS(ns, "rect");
        r.setAttribute("x", x); r.setAttribute("y", i * row + 2); r.setAttribute("width", Math.max(x2 - x, 2)); r.setAttribute("height", row - 4);
        r.setAttribute("fill", color(st.state));
        const tip = document.createElementNS(ns, "title"); tip.textContent = st.state + " from " + st.at.toFixed(3) + " ms"; r.appendChild(tip);
        s.appendChild(r);
        if (x2 - x > 60) { const tx = document.createElementNS(ns, "text"); tx.setAttribute("x", x + 3); tx.setAttribute("y", i * row + 16); tx.setAttribute("font-size", "11"); tx.textContent = st.state; s.appendChild(tx); }
      });
      const lab = document.createElementNS(ns, "text"); lab.setAttribute("x", 0); lab.setAttribute("y", i * row + 16); lab.setAttribute("font-size", "12"); lab.textContent = c.ends[i]; s.appendChild(lab);
    });
    t.appendChild(s);
    return t;
  }
  data.detail.forEach(c => {
    const sec = el("section");
    sec.appendChild(el("h2", "Connection " + c.id + ": " + c.ends[0] + " \u2194 " + c.ends[1] +
      " (" + (c.end - c.start).toFixed(3) + " ms, " + c.bytes[0] + " and " + c.bytes[1] + " bytes of text" + (c.deviations ? ", " + c.deviations + " deviations" : "") + ")"));
    sec.appendChild(timeline(c));
    c.paths.forEach((p, i) => sec.appendChild(el("p", c.ends[i] + ": " + p.map(s => s.state).join(" \u2192 "))));
    (c.findings || []).forEach(f => sec.appendChild(el("div", "\u2022 " + f.kind + ": " + f.text + (f.frame ? " (frame " + f.frame + ")" : ""), f.kind === "deviation" ? "finding dev" : "finding")));
    const t = el("table");
    const h = el("tr");
    ["frame", "ms", c.ends[0], "segment", c.ends[1], "sender's rule [hidden event]", "receiver's rule", "kinds"].forEach(x => h.appendChild(el("th", x)));
    t.appendChild(h);
    const st = (b, a) => b === a ? a : b + " \u2192 " + a;
    c.segments.forEach(g => {
      const tr = el("tr");
      if (g.dev) tr.className = "dev";
      [g.frame, g.at.toFixed(3), st(g.before[0], g.after[0]), (g.dir === 0 ? "\u2192 " : "\u2190 ") + g.label, st(g.before[1], g.after[1]),
       g.send + (g.hidden ? " [" + g.hidden + "]" : ""), g.recv + (g.rfc ? " (" + g.rfc + ")" : ""), (g.kinds || []).join(",")].forEach(x => tr.appendChild(el("td", String(x))));
      t.appendChild(tr);
      if (g.dev) {
        const d = el("tr", undefined, "dev"); const td = el("td", "deviation by " + g.dev.side + ": " + g.dev.why + (g.dev.expected ? "; the spec expected " + g.dev.expected + " (" + g.dev.rfc + ")" : ""));
        td.colSpan = 8; d.appendChild(td); t.appendChild(d);
      }
    });
    sec.appendChild(t);
    if (c.more) sec.appendChild(el("p", c.more + " segments more not shown."));
    conns.appendChild(sec);
  });
  document.body.dataset.rendered = "ok";
})();
</script>
</body></html>
`
