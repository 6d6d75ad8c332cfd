package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/colbert-go/colbert/search"
	"github.com/colbert-go/colbert/search/engine"
	"github.com/colbert-go/colbert/search/maxsim"
)

func postTo(t testing.TB, h http.Handler, path, body string) (int, []byte) {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

func get(h http.Handler, path string) (int, string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

func decodeInto(t testing.TB, code int, body []byte, v any) {
	t.Helper()
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
}

// TestBatchSearch: a batch answers each query exactly as a single-query
// request does, in the request's order, with the same hit objects.
func TestBatchSearch(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t, func(c *Config) { c.MaxBatch = 4 })
	queries := []string{"alpha beta", "gamma", "delta epsilon zeta", "gamma"}
	code, body := postTo(t, srv, "/search", `{"queries": ["alpha beta", "gamma", "delta epsilon zeta", "gamma"], "k": 7, "ndocs": 64}`)
	var batch BatchResponse
	decodeInto(t, code, body, &batch)
	if batch.K != 7 || len(batch.Results) != len(queries) {
		t.Fatalf("batch: k %d, %d rankings", batch.K, len(batch.Results))
	}
	for i, q := range queries {
		code, body := postTo(t, srv, "/search", fmt.Sprintf(`{"query": %q, "k": 7, "ndocs": 64}`, q))
		var one Response
		decodeInto(t, code, body, &one)
		got := batch.Results[i]
		if got.Query != q || !reflect.DeepEqual(got.Results, one.Results) || len(one.Results) != 7 {
			t.Errorf("batch entry %d (%q): %+v, single request %+v", i, q, got, one.Results)
		}
	}
	// The batch response's shape is the documented one: results[i] holds
	// the query and its hits, each hit exactly a single search's hit object.
	var raw struct {
		Results []struct {
			Query   string           `json:"query"`
			Results []map[string]any `json:"results"`
		} `json:"results"`
	}
	json.Unmarshal(body, &raw)
	var keys []string
	for k := range raw.Results[0].Results[0] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if raw.Results[0].Query != queries[0] || !slices.Equal(keys, []string{"id", "pid", "rank", "score", "text"}) {
		t.Errorf("batch shape: %s", body)
	}

	for _, c := range []struct{ body, want string }{
		{`{"query": "a", "queries": ["b"]}`, "not both"},
		{`{"queries": []}`, "at least one"},
		{`{"queries": ["a", "b", "c", "d", "e"]}`, "more than the 4"},
		{`{"queries": ["alpha", " "]}`, `"queries"[1]`},
		{`{"queries": ["alpha", "!!!"]}`, "no tokens"},
		{`{"queries": "alpha"}`, "malformed"},
		{`{"queries": ["alpha"], "filters": "year > 2000"}`, "unknown field"},
	} {
		code, body := postTo(t, srv, "/search", c.body)
		var e errorBody
		if code != http.StatusBadRequest || json.Unmarshal(body, &e) != nil || !strings.Contains(e.Error, c.want) {
			t.Errorf("%s: %d %s, want 400 saying %q", c.body, code, body, c.want)
		}
	}
	// A query without tokens is named by its place in the batch.
	_, body = postTo(t, srv, "/search", `{"queries": ["alpha", "!!!"]}`)
	if !strings.Contains(string(body), `queries[1]`) {
		t.Errorf("no-token error does not name the query: %s", body)
	}
}

// TestRerank: ids are scored by exact MaxSim (the scores exhaustive search
// gives them) and answered best first with ids and texts; texts are scored
// as encoded passages; unknown, deleted and repeated ids are refused naming
// them.
func TestRerank(t *testing.T) {
	f := newFixture(t)
	deleted := map[int]bool{4: true}
	srv := f.server(t, func(c *Config) {
		c.Source = Static{f.engine(t, nil, func(p *engine.Parts) {
			p.Store = tombstoned{Index: f.idx, dead: deleted}
		})}
	})
	q := "alpha beta gamma"
	ex, err := f.s.Exhaustive(f.enc.query(t, q), dim, 300)
	if err != nil {
		t.Fatal(err)
	}
	exact := map[int]float32{}
	for _, h := range ex {
		exact[h.PID] = h.Score
	}
	pids := []int{250, 3, 77, 12, 199, 0}
	ids := make([]string, len(pids))
	for i, p := range pids {
		ids[i] = fmt.Sprintf("doc%d", p)
	}
	raw, _ := json.Marshal(RerankRequest{Query: q, IDs: ids})
	var resp RerankResponse
	code, body := postTo(t, srv, "/rerank", string(raw))
	decodeInto(t, code, body, &resp)
	if len(resp.Results) != len(pids) || resp.Query != q {
		t.Fatalf("%d results for %d ids", len(resp.Results), len(pids))
	}
	for i, r := range resp.Results {
		if r.Rank != i+1 || r.ID != fmt.Sprintf("doc%d", r.PID) || r.Score != exact[r.PID] || r.Text != "text of "+r.ID || !slices.Contains(pids, r.PID) {
			t.Errorf("result %d: %+v, exact score %v", i, r, exact[r.PID])
		}
		if i > 0 && r.Score > resp.Results[i-1].Score {
			t.Errorf("results not sorted by score at %d", i)
		}
	}

	texts := []string{"zeta eta", q, "alpha"}
	raw, _ = json.Marshal(RerankRequest{Query: q, Texts: texts})
	code, body = postTo(t, srv, "/rerank", string(raw))
	decodeInto(t, code, body, &resp)
	qv := f.enc.query(t, q)
	mq, _ := maxsim.NewQuery(qv, len(qv)/dim, dim)
	for i, r := range resp.Results {
		var pos int
		fmt.Sscan(r.ID, &pos)
		if r.PID != -1 || r.Text != texts[pos] || r.Score != mq.Score(f.enc.encode(texts[pos])) || r.Rank != i+1 {
			t.Errorf("text result %d: %+v", i, r)
		}
	}
	if resp.Results[0].Text != q {
		t.Errorf("the query's own text should rank first: %+v", resp.Results)
	}

	for _, c := range []struct{ body, want string }{
		{`{"query": "alpha", "ids": ["doc1", "nope", "doc4", "other"]}`, `3 of the "ids" are not in the index (or were deleted): "nope", "doc4", "other"`},
		{`{"query": "alpha", "ids": ["doc1", "doc1"]}`, `"doc1" twice`},
		{`{"query": "alpha", "ids": ["doc1"], "texts": ["x"]}`, "not both"},
		{`{"query": "alpha", "ids": []}`, "non-empty"},
		{`{"query": "alpha"}`, "non-empty"},
		{`{"query": "", "ids": ["doc1"]}`, `"query" must be`},
		{`{"query": "!!!", "ids": ["doc1"]}`, "no tokens"},
		{`{"query": "alpha", "ids": ["doc1"], "k": 3}`, "unknown field"},
	} {
		code, body := postTo(t, srv, "/rerank", c.body)
		var e errorBody
		if code != http.StatusBadRequest || json.Unmarshal(body, &e) != nil || !strings.Contains(e.Error, c.want) {
			t.Errorf("%s: %d %s, want 400 saying %q", c.body, code, body, c.want)
		}
	}
	many := make([]string, 1001)
	for i := range many {
		many[i] = fmt.Sprintf("doc%d", i%300)
	}
	raw, _ = json.Marshal(RerankRequest{Query: q, IDs: many})
	if code, body := postTo(t, srv, "/rerank", string(raw)); code != http.StatusBadRequest || !strings.Contains(string(body), "more than the 1000") {
		t.Errorf("1001 ids: %d %s", code, body)
	}
	if code, _ := get(srv, "/rerank"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /rerank: %d", code)
	}
}

// tombstoned deletes some passages of an index; with closed set, it counts
// the passages read after it was closed in late.
type tombstoned struct {
	search.Index
	dead   map[int]bool
	closed *atomic.Bool
	late   *atomic.Int64
}

func (x tombstoned) Deleted(pid int) bool { return x.dead[pid] }

func (x tombstoned) Codes(pid int) []int32 {
	if x.closed != nil && x.closed.Load() {
		x.late.Add(1)
	}
	return x.Index.Codes(pid)
}

// TestOpenAPI: /openapi.json is an OpenAPI 3 document naming exactly the
// routes the server serves, with an operation for each method a route
// accepts, resolvable references, and request schemas listing the fields
// the decoders accept.
func TestOpenAPI(t *testing.T) {
	srv := newFixture(t).server(t, nil)
	code, body := get(srv, "/openapi.json")
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	var doc struct {
		OpenAPI    string                               `json:"openapi"`
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any `json:"properties"`
			} `json:"schemas"`
			Responses map[string]any `json:"responses"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	var served, described []string
	for _, r := range srv.routes {
		served = append(served, r.path)
		ops := doc.Paths[r.path]
		for _, m := range r.methods {
			if ops[strings.ToLower(m)] == nil {
				t.Errorf("%s %s is served but not described", m, r.path)
			}
		}
		for m := range ops {
			if !slices.Contains(r.methods, strings.ToUpper(m)) {
				t.Errorf("%s %s is described but not served", m, r.path)
			}
		}
		// The mux really routes the path.
		if _, pattern := srv.mux.Handler(httptest.NewRequest(r.methods[0], r.path, nil)); pattern != r.path {
			t.Errorf("mux routes %s to %q", r.path, pattern)
		}
	}
	for p := range doc.Paths {
		described = append(described, p)
	}
	sort.Strings(served)
	sort.Strings(described)
	if !slices.Equal(served, described) || len(served) != 6 {
		t.Errorf("served %v, described %v", served, described)
	}
	for _, ref := range regexpRefs.FindAllStringSubmatch(body, -1) {
		kind, name := ref[1], ref[2]
		_, okS := doc.Components.Schemas[name]
		_, okR := doc.Components.Responses[name]
		if (kind == "schemas" && !okS) || (kind == "responses" && !okR) {
			t.Errorf("unresolved $ref %s", ref[0])
		}
	}
	for name, v := range map[string]any{"SearchRequest": Request{}, "RerankRequest": RerankRequest{}, "Hit": Result{},
		"SearchResponse": Response{}, "BatchSearchResponse": BatchResponse{}, "RerankResponse": RerankResponse{},
		"AddPassagesRequest": AddPassagesRequest{}, "DeletePassagesRequest": DeletePassagesRequest{}, "UpdateResponse": UpdateResponse{}} {
		var props []string
		for p := range doc.Components.Schemas[name].Properties {
			props = append(props, p)
		}
		sort.Strings(props)
		if fields := jsonFields(v); !slices.Equal(props, fields) {
			t.Errorf("schema %s has %v, the Go type %T %v", name, props, v, fields)
		}
	}
}

// jsonFields are the JSON names of a struct's exported fields, sorted.
func jsonFields(v any) []string {
	var out []string
	rt := reflect.TypeOf(v)
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// TestStageMetrics: every query searched adds one observation to each
// stage's histogram, and the index generation is exported.
func TestStageMetrics(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t, func(c *Config) {
		c.Source = Static{f.engine(t, nil, func(p *engine.Parts) { p.Generation = 7 })}
	})
	postTo(t, srv, "/search", `{"query": "alpha"}`)
	postTo(t, srv, "/search", `{"queries": ["alpha", "beta gamma", "delta"]}`)
	postTo(t, srv, "/search", `{"query": "!!!"}`) // refused: no stage ran
	_, m := get(srv, "/metrics")
	for _, stage := range search.StageNames {
		want := fmt.Sprintf(`colbert_search_stage_seconds_count{stage=%q} 4`, stage)
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
		if !strings.Contains(m, fmt.Sprintf(`colbert_search_stage_seconds_bucket{stage=%q,le="+Inf"} 4`, stage)) {
			t.Errorf("stage %s: no +Inf bucket of 4", stage)
		}
	}
	for _, want := range []string{"colbert_index_generation 7", "colbert_index_passages 300", `colbert_search_duration_seconds_count 3`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q:\n%s", want, m)
		}
	}
}

// TestReloadUnderLoad swaps index generations (each deleting more
// passages) under concurrent single and batched requests: every answer
// names one generation and equals that generation's ranking, every query
// of a batch comes from the same generation, and every retired generation
// is closed once, after its last request.
func TestReloadUnderLoad(t *testing.T) {
	f := newFixture(t)
	const gens = 10
	engines := make([]*engine.Engine, gens)
	closes := make([]atomic.Int32, gens)
	closed := make([]atomic.Bool, gens)
	var late atomic.Int64
	for g := range engines {
		dead := map[int]bool{}
		for pid := 0; pid < 300; pid += gens - g { // later generations delete fewer: rankings differ
			dead[pid] = true
		}
		engines[g] = f.engine(t, nil, func(p *engine.Parts) {
			p.Store, p.Generation = tombstoned{f.idx, dead, &closed[g], &late}, g
			p.Close = func() error { closes[g].Add(1); closed[g].Store(true); return nil }
		})
	}
	queries := []string{"alpha beta", "gamma", "delta epsilon zeta", "eta theta"}
	want := make([]map[string][]int, gens)
	for g, e := range engines {
		want[g] = map[string][]int{}
		for _, q := range queries {
			hits, err := e.Searcher().Search(f.enc.query(t, q), dim, search.DefaultParams(10))
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range hits {
				want[g][q] = append(want[g][q], h.PID)
			}
		}
	}
	if slices.Equal(want[0][queries[0]], want[gens-1][queries[0]]) {
		t.Fatal("generations rank alike: the test could not tell them apart")
	}
	live := engine.NewLive(engines[0])
	srv := f.server(t, func(c *Config) { c.Source = live; c.MaxConcurrent = 4 })
	ts := httptest.NewServer(srv)
	defer ts.Close()

	pids := func(rs []Result) []int {
		var out []int
		for _, r := range rs {
			out = append(out, r.PID)
		}
		return out
	}
	seen := make([]atomic.Int64, gens)
	stop := make(chan struct{})
	errs := make(chan error, 64)
	var wg sync.WaitGroup
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				q := queries[(c+i)%len(queries)]
				body := fmt.Sprintf(`{"query": %q}`, q)
				if i%2 == 1 {
					body = fmt.Sprintf(`{"queries": [%q, %q, %q]}`, q, queries[0], queries[2])
				}
				resp, err := http.Post(ts.URL+"/search", "application/json", strings.NewReader(body))
				if err != nil {
					errs <- err
					return
				}
				var b BatchResponse
				var r Response
				if i%2 == 1 {
					err = json.NewDecoder(resp.Body).Decode(&b)
				} else {
					err = json.NewDecoder(resp.Body).Decode(&r)
					b = BatchResponse{Generation: r.Generation, Results: []QueryResults{{Query: r.Query, Results: r.Results}}}
				}
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("%s: status %d %v", body, resp.StatusCode, err)
					return
				}
				g := b.Generation
				if g < 0 || g >= gens {
					errs <- fmt.Errorf("answer names generation %d", g)
					return
				}
				for _, qr := range b.Results {
					if got := pids(qr.Results); !slices.Equal(got, want[g][qr.Query]) {
						errs <- fmt.Errorf("%s: query %q answered %v, generation %d ranks %v", body, qr.Query, got, g, want[g][qr.Query])
						return
					}
				}
				seen[g].Add(1)
			}
		}(c)
	}
	// waitFor lets generation g answer n requests, or stops at the first
	// error. Counting per generation (not answers in all) is what makes every
	// generation, the last included, answer before the test moves on.
	waitFor := func(g, n int) {
		for seen[g].Load() < int64(n) {
			select {
			case err := <-errs:
				close(stop)
				wg.Wait()
				t.Fatal(err)
			default:
			}
			runtime.Gosched()
		}
	}
	for g := 1; g < gens; g++ {
		waitFor(g-1, 10)
		live.Swap(engines[g])
		if _, h := get(srv, "/healthz"); !strings.Contains(h, fmt.Sprintf(`"generation":%d`, g)) {
			t.Errorf("after swapping in generation %d, healthz says %s", g, h)
		}
	}
	waitFor(gens-1, 10)
	if _, m := get(srv, "/metrics"); !strings.Contains(m, fmt.Sprintf(`colbert_index_reloads_total{result="ok"} %d`, gens-1)) ||
		!strings.Contains(m, `colbert_index_reloads_total{result="error"} 0`) {
		t.Errorf("metrics do not count %d reloads:\n%s", gens-1, m)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for g := 0; g < gens-1; g++ {
		if n := closes[g].Load(); n != 1 {
			t.Errorf("retired generation %d closed %d times", g, n)
		}
	}
	if n := late.Load(); n != 0 {
		t.Errorf("%d passages read from a generation after it was closed", n)
	}
	if seen[gens-1].Load() == 0 || seen[0].Load() == 0 {
		t.Errorf("generation 0 answered %d, generation %d %d: both must have answered", seen[0].Load(), gens-1, seen[gens-1].Load())
	}
	live.Close()
	if n := closes[gens-1].Load(); n != 1 {
		t.Errorf("last generation closed %d times after Live.Close", n)
	}
	if code, body := postTo(t, srv, "/search", `{"query": "alpha"}`); code != http.StatusServiceUnavailable {
		t.Errorf("search after the source closed: %d %s", code, body)
	}
}

var regexpRefs = regexp.MustCompile(`"\$ref": "#/components/(schemas|responses)/(\w+)"`)
