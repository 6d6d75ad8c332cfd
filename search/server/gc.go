package server

import "github.com/colbert-go/colbert/data/gctune"

// GCPercent is the garbage collector's target for `colbert serve`. Under
// load a collection cycle takes a quarter of the cores and slows every
// request in flight, which is where the latency tail comes from: the demo
// index, 32 closed-loop clients on the same 2 cores (BENCHMARKS.md,
// "Search server"), p99/p50 7–10× at GOGC 100 and 2.2–2.5× at 400, for
// 127 → 182 MB peak RSS (the index itself is memory-mapped).
const GCPercent = 400

// TuneGC sets GCPercent unless the user chose GOGC; `colbert serve` calls
// it once at start-up.
func TuneGC() { gctune.Set(GCPercent) }
