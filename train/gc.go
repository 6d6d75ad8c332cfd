package train

import "github.com/colbert-go/colbert/data/gctune"

// GCPercent is the garbage collector's target for training processes: a
// step allocates and drops hundreds of MB of activations and gradients, and
// a heap kept near its live size reuses warm pages instead of faulting in
// fresh zeroed ones. Measured on the demo student's step (experiments/
// benchtrain, 2 cores): GOGC 100 gives 0.63 s/step and 2.3 GB peak RSS,
// GOGC 25 gives 0.50 s/step and 0.84 GB (GOGC 10 collects too often: 1.0 s).
const GCPercent = 25

// TuneGC sets GCPercent unless the user chose GOGC; commands that train
// (colbert train, colbert demo) call it once at start-up.
func TuneGC() { gctune.Set(GCPercent) }
