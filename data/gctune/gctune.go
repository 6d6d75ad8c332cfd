// Package gctune sets the Go garbage collector's target for a kind of
// process (training wants a heap kept near its live size, a search server
// fewer collections) unless the user chose one with GOGC: the one place
// that decides whether the environment wins.
package gctune

import (
	"os"
	"runtime/debug"
)

// Set makes percent the collector's GOGC target unless the GOGC
// environment variable is set, and reports whether it did.
func Set(percent int) bool {
	if _, set := os.LookupEnv("GOGC"); set {
		return false
	}
	debug.SetGCPercent(percent)
	return true
}
