package server

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/search/engine"
)

// handIndex holds passages made of its centroids, so that which passage
// survives stage 2 is known for every threshold.
type handIndex struct {
	dim   int
	cent  []float32
	codes [][]int32
}

func (h *handIndex) Dim() int              { return h.dim }
func (h *handIndex) NumPassages() int      { return len(h.codes) }
func (h *handIndex) Centroids() []float32  { return h.cent }
func (h *handIndex) Codes(pid int) []int32 { return h.codes[pid] }
func (h *handIndex) IVF(c int) []int32 {
	var out []int32
	for pid, cs := range h.codes {
		for _, x := range cs {
			if int(x) == c {
				out = append(out, int32(pid))
				break
			}
		}
	}
	return out
}
func (h *handIndex) Decompress(pid int, dst []float32) ([]float32, error) {
	dst = dst[:0]
	for _, c := range h.codes[pid] {
		dst = append(dst, h.cent[int(c)*h.dim:(int(c)+1)*h.dim]...)
	}
	return dst, nil
}

// fixedEncoder encodes every query as q.
type fixedEncoder struct{ q []float32 }

func (e fixedEncoder) Dim() int { return 16 }

func (e fixedEncoder) EncodeQueries(_ context.Context, qs []data.Query) ([][]float32, error) {
	out := make([][]float32, len(qs))
	for i := range out {
		out[i] = e.q
	}
	return out, nil
}

func (e fixedEncoder) EncodePassages(context.Context, []string) ([][]float32, error) {
	return nil, errors.New("fixedEncoder: no passages")
}

// TestThresholdZero checks that "threshold": 0 in a request is searched
// with threshold 0, not with the default for k. In the index, the
// two-token query's stage 2 keeps doc1 at threshold 0 (its centroid with
// best score exactly 0 is kept, the other passage's negative one pruned)
// and doc0 at any threshold above 0 or at the default for k = 1 (0.5).
func TestThresholdZero(t *testing.T) {
	const d = 16
	vec := func(a, b, c float32) []float32 {
		v := make([]float32, d)
		v[0], v[1], v[2] = a, b, c
		return v
	}
	var cent []float32
	for _, v := range [][]float32{vec(.6, -.5, .6), vec(-.1, -.2, .9), vec(0, 0, 1), vec(.3, -.25, .9)} {
		cent = append(cent, v...)
	}
	e, err := engine.New(engine.Parts{Encoder: fixedEncoder{append(vec(1, 0, 0), vec(0, 1, 0)...)},
		Store: &handIndex{dim: d, cent: cent, codes: [][]int32{{0, 1}, {2, 3}}}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Source: Static{e}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ body, want string }{
		{`{"query": "q", "k": 1, "ncells": 4, "ndocs": 1, "threshold": 0}`, "1"},
		{`{"query": "q", "k": 1, "ncells": 4, "ndocs": 1, "threshold": 0.0}`, "1"},
		{`{"query": "q", "k": 1, "ncells": 4, "ndocs": 1, "threshold": 1e-6}`, "0"},
		{`{"query": "q", "k": 1, "ncells": 4, "ndocs": 1}`, "0"},
		{`{"query": "q", "k": 1, "ncells": 4, "ndocs": 1, "threshold": null}`, "0"},
	} {
		code, body := post(t, srv, c.body)
		var resp Response
		if code != 200 || json.Unmarshal(body, &resp) != nil {
			t.Fatalf("%s: status %d: %s", c.body, code, body)
		}
		if len(resp.Results) != 1 || resp.Results[0].ID != c.want {
			t.Errorf("%s: results %+v, want passage %s", c.body, resp.Results, c.want)
		}
	}
}
