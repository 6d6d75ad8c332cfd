package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/model/blas"
)

func runApp(t *testing.T, args ...string) string {
	t.Helper()
	app := newApp()
	var out bytes.Buffer
	app.Writer, app.ErrWriter = &out, &bytes.Buffer{}
	if err := app.Run(append([]string{"colbert"}, args...)); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestVersionCommand(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(runApp(t, "version"), "\n"), "\n")
	if len(lines) != 2 || lines[0] != "colbert "+version || lines[1] != "blas: "+blas.Core() {
		t.Fatalf("version printed %q", lines)
	}
	if blas.OpenBLAS == (lines[1] == "blas: gonum") {
		t.Fatalf("OpenBLAS build %v, %q", blas.OpenBLAS, lines[1])
	}
	t.Log(lines[1])
}

func TestBLASCoreCommand(t *testing.T) {
	got := strings.TrimSuffix(runApp(t, "blas-core"), "\n")
	want := blas.Core()
	if !blas.OpenBLAS {
		want = blas.Safe(blas.Detect())
	}
	if got != want || strings.Contains(got, "\n") {
		t.Fatalf("blas-core printed %q, want %q", got, want)
	}
}
