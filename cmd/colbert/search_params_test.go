package main

import (
	"testing"

	"github.com/colbert-go/colbert/search"
	"github.com/urfave/cli/v2"
)

// TestPlaidParamsFlags checks that --threshold 0 (or its alias
// --centroid-score-threshold, ColBERT's name) reaches search as 0, and that
// leaving it out keeps ColBERT's default for --k once resolved.
func TestPlaidParamsFlags(t *testing.T) {
	parse := func(k int, args ...string) search.Params {
		t.Helper()
		var p search.Params
		app := &cli.App{Name: "t", Flags: plaidFlags(), Action: func(c *cli.Context) error {
			p = plaidParams(c, k)
			return nil
		}}
		if err := app.Run(append([]string{"t"}, args...)); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		args []string
		k    int
		want float32
	}{
		{[]string{"--threshold", "0"}, 10, 0},
		{[]string{"--threshold=0"}, 1000, 0},
		{[]string{"--threshold", "-0.25"}, 10, -0.25},
		{[]string{"--centroid-score-threshold", "0"}, 100, 0},
		{nil, 10, 0.5},
		{nil, 100, 0.45},
		{nil, 1000, 0.4},
	} {
		p, err := parse(c.k, c.args...).Resolve()
		if err != nil || p.Threshold == nil || *p.Threshold != c.want || p.EffectiveThreshold() != c.want {
			t.Errorf("k %d %v: threshold %v, want %g", c.k, c.args, p.Threshold, c.want)
		}
	}
	p := parse(10, "--ncells", "3", "--ndocs", "64", "--no-prune")
	if p.NCells != 3 || p.NDocs != 64 || !p.NoPrune || p.K != 10 {
		t.Errorf("params %+v", p)
	}
}
