package router

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/colbert-go/colbert/search"
	"github.com/colbert-go/colbert/search/internal/searchtest"
	"github.com/colbert-go/colbert/search/server"
)

const dim = 32

// wordEncoder maps each word of a query to a word vector of the synthetic
// collection (by hash): a deterministic stand-in for the query encoder.
type wordEncoder struct{ words []float32 }

func (e wordEncoder) EncodeQuery(_ context.Context, text string) ([]float32, int, error) {
	nw := len(e.words) / dim
	var out []float32
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) }) {
		h := fnv.New32a()
		h.Write([]byte(w))
		i := int(h.Sum32()) % nw
		out = append(out, e.words[i*dim:(i+1)*dim]...)
	}
	if len(out) == 0 {
		return nil, 0, search.ErrEmptyQuery
	}
	return out, dim, nil
}

// exactParams make PLAID score every passage exactly (every centroid
// probed, no pruning, every candidate kept): a shard's top k is then the
// exact MaxSim top k of its slice, as the merge assumes.
func exactParams(k int) search.Params {
	return search.Params{K: k, NCells: 1 << 20, NDocs: 1 << 20, NoPrune: true, Threshold: new(float32(-1e9))}
}

// shardServer serves passages lo…hi−1 of coll (ids "doc<global pid>")
// over HTTP with the shard protocol the router speaks (POST /search
// {"query", "k"} → server.Response; a bad k or empty query → 400), from
// its own index (its own centroids).
func shardServer(t *testing.T, coll *searchtest.Collection, lo, hi int) *httptest.Server {
	t.Helper()
	off := 0
	for _, l := range coll.Doclens[:lo] {
		off += l
	}
	n := 0
	for _, l := range coll.Doclens[lo:hi] {
		n += l
	}
	idx, err := searchtest.Build(context.Background(), coll.Vecs[off*dim:(off+n)*dim], coll.Doclens[lo:hi], dim, searchtest.Options{K: 16, Seed: uint64(lo + 1), Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := search.NewSearcher(idx)
	if err != nil {
		t.Fatal(err)
	}
	enc := wordEncoder{coll.Words}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			writeJSON(w, 200, map[string]string{"status": "ok"})
			return
		}
		var req struct {
			Query   string   `json:"query"`
			Queries []string `json:"queries"`
			K       *int     `json:"k"`
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeError(w, 400, "malformed JSON: "+err.Error(), nil)
			return
		}
		k := 10
		if req.K != nil {
			k = *req.K
		}
		if k <= 0 || k > 1000 {
			writeError(w, 400, fmt.Sprintf(`"k" must be in [1, 1000], got %d`, k), nil)
			return
		}
		rank := func(text string) ([]server.Result, error) {
			q, _, err := enc.EncodeQuery(r.Context(), text)
			if err != nil {
				return nil, err
			}
			hits, err := s.Search(q, dim, exactParams(k))
			if err != nil {
				return nil, err
			}
			out := []server.Result{}
			for i, h := range hits {
				out = append(out, server.Result{Rank: i + 1, ID: fmt.Sprintf("doc%03d", lo+h.PID), PID: h.PID,
					Score: h.Score, Text: fmt.Sprintf("text %d", lo+h.PID)})
			}
			return out, nil
		}
		if req.Queries != nil {
			resp := server.BatchResponse{K: k, Generation: lo}
			for _, text := range req.Queries {
				res, err := rank(text)
				if err != nil {
					writeError(w, 400, `a query has no tokens`, nil)
					return
				}
				resp.Results = append(resp.Results, server.QueryResults{Query: text, Results: res})
			}
			writeJSON(w, 200, resp)
			return
		}
		res, err := rank(req.Query)
		if err != nil {
			writeError(w, 400, `"query" has no tokens`, nil)
			return
		}
		writeJSON(w, 200, server.Response{Query: req.Query, K: k, Results: res, Generation: lo})
	}))
	t.Cleanup(ts.Close)
	return ts
}

func collection() *searchtest.Collection {
	return searchtest.Synthesize(searchtest.SynthOptions{Passages: 240, Dim: dim, Topics: 6, WordsPerTopic: 10, MinLen: 5,
		MaxLen: 30, TopicsPerPassage: 2, Seed: 4})
}

func postJSON(t *testing.T, h http.Handler, body string) (int, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/search", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

func newRouter(t *testing.T, cfg Config) *Router {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestMergedEqualsUnsharded: the collection split into 2 and into 3
// shards, each with its own centroids, routed over loopback HTTP, gives
// the unsharded server's ranking: same ids, scores and texts, ranks 1…k.
func TestMergedEqualsUnsharded(t *testing.T) {
	coll := collection()
	n := len(coll.Doclens)
	whole := shardServer(t, coll, 0, n)
	queries := []string{"alpha beta", "gamma delta epsilon", "zeta", "eta theta iota kappa lambda", "mu nu xi omicron"}
	for _, nshards := range []int{2, 3} {
		var urls []string
		for i := 0; i < nshards; i++ {
			lo, hi := i*n/nshards, (i+1)*n/nshards
			urls = append(urls, shardServer(t, coll, lo, hi).URL)
		}
		r := newRouter(t, Config{Shards: urls})
		for _, q := range queries {
			for _, k := range []int{1, 10, 50} {
				body := fmt.Sprintf(`{"query": %q, "k": %d}`, q, k)
				res, err := http.Post(whole.URL+"/search", "application/json", strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				var want server.Response
				if err := json.NewDecoder(res.Body).Decode(&want); err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				code, b := postJSON(t, r, body)
				var got Response
				if err := json.Unmarshal(b, &got); err != nil || code != 200 {
					t.Fatalf("%d shards, %s: status %d, %v: %s", nshards, body, code, err, b)
				}
				if got.K != k || got.Partial || got.Shards != nshards || len(got.Results) != len(want.Results) || len(want.Results) != k {
					t.Fatalf("%d shards, %s: k %d, partial %v, %d results; unsharded %d", nshards, body, got.K, got.Partial, len(got.Results), len(want.Results))
				}
				for i, h := range got.Results {
					w := want.Results[i]
					if h.Rank != i+1 || h.ID != w.ID || h.Score != w.Score || h.Text != w.Text {
						t.Errorf("%d shards, %s rank %d: %s %.6f %q, unsharded %s %.6f", nshards, body, i+1, h.ID, h.Score, h.Text, w.ID, w.Score)
					}
					if lo := h.Shard * n / nshards; fmt.Sprintf("doc%03d", lo+h.PID) != h.ID {
						t.Errorf("hit %s says shard %d pid %d", h.ID, h.Shard, h.PID)
					}
				}
			}
		}
	}
}

func TestMergeTiesByID(t *testing.T) {
	lists := [][]server.Result{
		{{ID: "b", Score: 2}, {ID: "d", Score: 1}},
		{{ID: "a", Score: 2}, {ID: "c", Score: 1.5}},
		nil,
	}
	got := Merge(lists, 3)
	var ids []string
	for i, h := range got {
		ids = append(ids, h.ID)
		if h.Rank != i+1 {
			t.Errorf("rank %d at %d", h.Rank, i)
		}
	}
	if !slices.Equal(ids, []string{"a", "b", "c"}) || got[0].Shard != 1 || got[1].Shard != 0 {
		t.Errorf("merged %v (shards %d %d), want [a b c] from shards 1 0", ids, got[0].Shard, got[1].Shard)
	}
	if m := Merge(nil, 5); m == nil || len(m) != 0 {
		t.Errorf("no lists: %v", m)
	}
}

// deadShard is a URL nothing listens on.
func deadShard(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String()
	ln.Close()
	return u
}

// TestShardDown: with a shard unreachable, policy fail answers 502 naming
// it; policy partial answers the other shard's hits flagged partial with
// the failed shard named; /healthz says which is down.
func TestShardDown(t *testing.T) {
	coll := collection()
	n := len(coll.Doclens)
	live := shardServer(t, coll, 0, n/2)
	dead := deadShard(t)
	body := `{"query": "alpha beta", "k": 10}`

	r := newRouter(t, Config{Shards: []string{live.URL, dead}, OnShardError: PolicyFail})
	code, b := postJSON(t, r, body)
	var e errorBody
	json.Unmarshal(b, &e)
	if code != http.StatusBadGateway || !strings.Contains(e.Error, "shard 1 ("+dead+")") || len(e.FailedShards) != 1 || e.FailedShards[0].Shard != 1 {
		t.Errorf("fail policy: status %d %s, want 502 naming shard 1 (%s)", code, b, dead)
	}

	r = newRouter(t, Config{Shards: []string{live.URL, dead}, OnShardError: PolicyPartial})
	code, b = postJSON(t, r, body)
	var got Response
	if err := json.Unmarshal(b, &got); err != nil || code != 200 {
		t.Fatalf("partial policy: status %d %v %s", code, err, b)
	}
	if !got.Partial || len(got.FailedShards) != 1 || got.FailedShards[0].URL != dead || len(got.Results) != 10 {
		t.Fatalf("partial policy: %s", b)
	}
	res, err := http.Post(live.URL+"/search", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var want server.Response
	json.NewDecoder(res.Body).Decode(&want)
	res.Body.Close()
	for i, h := range got.Results {
		if h.ID != want.Results[i].ID || h.Score != want.Results[i].Score || h.Shard != 0 {
			t.Errorf("partial rank %d: %s, live shard %s", i+1, h.ID, want.Results[i].ID)
		}
	}
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"degraded"`) {
		t.Errorf("healthz with a shard down (partial): %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if !strings.Contains(rec.Body.String(), `colbert_router_shard_errors_total{shard="1"} 1`) || !strings.Contains(rec.Body.String(), "colbert_router_partial_total 1") {
		t.Errorf("metrics:\n%s", rec.Body)
	}

	// Every shard down: 502 under either policy.
	r = newRouter(t, Config{Shards: []string{dead}, OnShardError: PolicyPartial})
	if code, b := postJSON(t, r, body); code != http.StatusBadGateway {
		t.Errorf("all shards down: %d %s", code, b)
	}
}

// TestShardTimeout: a shard slower than the shard timeout is a failed
// shard, named, and the request does not wait for it.
func TestShardTimeout(t *testing.T) {
	coll := collection()
	live := shardServer(t, coll, 0, 100)
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	r := newRouter(t, Config{Shards: []string{live.URL, slow.URL}, OnShardError: PolicyPartial, ShardTimeout: time.Second})
	code, b := postJSON(t, r, `{"query": "alpha", "k": 3}`)
	var got Response
	json.Unmarshal(b, &got)
	if code != 200 || !got.Partial || len(got.FailedShards) != 1 || !strings.Contains(got.FailedShards[0].Error, "no answer within 1s") {
		t.Errorf("slow shard: %d %s", code, b)
	}
}

// TestClientErrors: a request every shard refuses (4xx) gets the shard's
// status and message; malformed JSON is refused by the router itself; a
// shard answering 500 is a shard failure.
func TestClientErrors(t *testing.T) {
	coll := collection()
	a, b := shardServer(t, coll, 0, 100), shardServer(t, coll, 100, 200)
	r := newRouter(t, Config{Shards: []string{a.URL, b.URL}})
	for _, c := range []struct {
		body string
		code int
		msg  string
	}{
		{`{"query": "alpha", "k": 0}`, 400, `"k" must be in`},
		{`{"query": "..."}`, 400, `"query" has no tokens`},
		{`{"query": "alpha", "bogus": 1}`, 400, "malformed JSON"},
		{`{"query": `, 400, "malformed JSON"},
	} {
		code, got := postJSON(t, r, c.body)
		var e errorBody
		if err := json.Unmarshal(got, &e); err != nil || code != c.code || !strings.Contains(e.Error, c.msg) {
			t.Errorf("%s: %d %s, want %d with %q", c.body, code, got, c.code, c.msg)
		}
	}
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		w.Write([]byte(`{"error": "disk on fire", "code": 500}`))
	}))
	defer broken.Close()
	r = newRouter(t, Config{Shards: []string{a.URL, broken.URL}})
	code, got := postJSON(t, r, `{"query": "alpha"}`)
	if code != 502 || !strings.Contains(string(got), "status 500: disk on fire") {
		t.Errorf("shard answering 500: %d %s", code, got)
	}
}

// TestConcurrentRequests: many clients at once through a router bounded
// to 2 routed requests all get the full merged answer.
func TestConcurrentRequests(t *testing.T) {
	coll := collection()
	a, b := shardServer(t, coll, 0, 120), shardServer(t, coll, 120, 240)
	r := newRouter(t, Config{Shards: []string{a.URL, b.URL}, MaxConcurrent: 2})
	ts := httptest.NewServer(r)
	defer ts.Close()
	var wg sync.WaitGroup
	errs := make(chan string, 32)
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := http.Post(ts.URL+"/search", "application/json", strings.NewReader(`{"query": "alpha gamma", "k": 5}`))
			if err != nil {
				errs <- err.Error()
				return
			}
			defer res.Body.Close()
			var got Response
			if err := json.NewDecoder(res.Body).Decode(&got); err != nil || res.StatusCode != 200 || len(got.Results) != 5 || got.Partial {
				errs <- fmt.Sprintf("status %d, %d results, %v", res.StatusCode, len(got.Results), err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestParse(t *testing.T) {
	got, err := ParseShards(" http://a:1/, http://b:2 ,")
	if err != nil || !slices.Equal(got, []string{"http://a:1", "http://b:2"}) {
		t.Errorf("ParseShards: %v %v", got, err)
	}
	for _, bad := range []string{"", "a:1", "ftp://a:1", "http://a:1,http://a:1", "http://a:1?x=1"} {
		if _, err := ParseShards(bad); err == nil {
			t.Errorf("ParseShards(%q) accepted", bad)
		}
	}
	if _, err := ParsePolicy("sometimes"); err == nil {
		t.Error("policy sometimes accepted")
	}
	if p, err := ParsePolicy("Partial"); err != nil || p != PolicyPartial {
		t.Errorf("ParsePolicy(Partial) = %v %v", p, err)
	}
}

// TestBatch: a batched request ({"queries": [...]}) gets, per query, the
// ranking the same query gets alone, and each shard's generation.
func TestBatch(t *testing.T) {
	coll := collection()
	a, b := shardServer(t, coll, 0, 120), shardServer(t, coll, 120, 240)
	r := newRouter(t, Config{Shards: []string{a.URL, b.URL}})
	queries := []string{"alpha beta", "gamma", "delta epsilon zeta"}
	body, _ := json.Marshal(map[string]any{"queries": queries, "k": 7})
	code, raw := postJSON(t, r, string(body))
	var got BatchResponse
	if err := json.Unmarshal(raw, &got); err != nil || code != 200 || len(got.Results) != len(queries) || got.K != 7 {
		t.Fatalf("batch: status %d, %v: %s", code, err, raw)
	}
	if !slices.Equal(got.Generations, []int{0, 120}) {
		t.Errorf("generations %v, want the shards' [0 120]", got.Generations)
	}
	for i, q := range queries {
		code, raw := postJSON(t, r, fmt.Sprintf(`{"query": %q, "k": 7}`, q))
		var one Response
		if err := json.Unmarshal(raw, &one); err != nil || code != 200 {
			t.Fatalf("%s: %d %s", q, code, raw)
		}
		if got.Results[i].Query != q || len(got.Results[i].Results) != 7 || !slices.Equal(got.Results[i].Results, one.Results) {
			t.Errorf("batch query %d (%s) differs from the query alone:\n%v\n%v", i, q, got.Results[i].Results, one.Results)
		}
	}
	// A shard answering the wrong number of rankings is a failed shard.
	short := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, server.BatchResponse{K: 7, Results: []server.QueryResults{{Query: "alpha beta"}}})
	}))
	defer short.Close()
	r = newRouter(t, Config{Shards: []string{a.URL, short.URL}, OnShardError: PolicyPartial})
	code, raw = postJSON(t, r, string(body))
	got = BatchResponse{}
	json.Unmarshal(raw, &got)
	if code != 200 || !got.Partial || len(got.FailedShards) != 1 || !strings.Contains(got.FailedShards[0].Error, "1 rankings for 3 queries") {
		t.Errorf("short batch answer: %d %s", code, raw)
	}
}
