package gctune

import (
	"os"
	"runtime/debug"
	"testing"
)

func TestSetRespectsGOGC(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	t.Setenv("GOGC", "50")
	if Set(400) {
		t.Error("Set overrode a GOGC the user set")
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent %d after a refused Set, want 100", got)
	}
}

func TestSetWithoutGOGC(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	t.Setenv("GOGC", "")
	if err := os.Unsetenv("GOGC"); err != nil {
		t.Fatal(err)
	}
	if !Set(400) {
		t.Fatal("Set refused without GOGC")
	}
	if got := debug.SetGCPercent(100); got != 400 {
		t.Errorf("GC percent %d, want 400", got)
	}
}
