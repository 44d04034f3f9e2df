// Package bench measures Rebound the way SPEC section 7 states its figures:
// as ratios to a bare fasthttp server answering 302 from a Go map, driven by
// the same load generator in the same run.
//
// Load drives one HTTP target over a fixed number of keep-alive connections,
// closed-loop (as fast as answers come back) or open-loop at a fixed rate
// (latency counted from when each request was due, so a stalled server cannot
// hide its queue). Baseline is the bare server. Report renders results as
// Markdown tables and an SVG latency chart. The command reboundbench wires
// these to a real edge and origin; see the README's benchmark section.
package bench
