package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/testassets"
	"github.com/colbert-go/colbert/search/router"
	"github.com/urfave/cli/v2"
)

// TestShardedServeCLI: a plan's two shards (`index merge --part i/2`) each
// served by `colbert serve` on loopback, behind `colbert serve --shards`,
// answer exactly what one `colbert serve` of the whole index answers (same
// ids and scores: the shards share the plan's codec, and the requests ask
// PLAID to score every passage); with a shard stopped, the partial router
// flags its answer and names the shard, the failing one answers 502.
func TestShardedServeCLI(t *testing.T) {
	ck := testassets.Path(t, "models/hf-tiny/colbert")
	cran := testassets.Path(t, "classic/cranfield")
	dir := t.TempDir()
	ps, err := data.ReadCorpusJSONL(filepath.Join(cran, "corpus.jsonl"))
	must(t, err)
	qs, err := data.ReadQueriesJSONL(filepath.Join(cran, "queries.jsonl"))
	must(t, err)
	corpus := filepath.Join(dir, "corpus.jsonl")
	must(t, data.WriteCorpusJSONL(corpus, ps[:80]))

	var out, errw bytes.Buffer
	app := &cli.App{Name: "colbert", Writer: &out, ErrWriter: &errw, Commands: append(indexCommands(), serveCommands()...)}
	run := func(args ...string) {
		t.Helper()
		if err := app.Run(append([]string{"colbert"}, args...)); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errw.String())
		}
	}
	plan := filepath.Join(dir, "plan")
	run("index", "plan", "--checkpoint", ck, "-c", corpus, "--out", plan, "--centroids", "32", "--sample", "40", "--chunk-size", "20", "--threads", "2", "-q")
	run("index", "encode", "--plan", plan, "--part", "0/1", "--threads", "2", "-q")
	run("index", "merge", "--plan", plan, "--out", filepath.Join(dir, "whole"))
	run("index", "merge", "--plan", plan, "--out", filepath.Join(dir, "shard0"), "--part", "0/2")
	run("index", "merge", "--plan", plan, "--out", filepath.Join(dir, "shard1"), "--part", "1/2")

	// serve starts `colbert serve args…` on a loopback port and returns its
	// base URL and a stop function.
	serve := func(args ...string) (string, func()) {
		t.Helper()
		errs := &syncBuffer{}
		a := &cli.App{Name: "colbert", Writer: &bytes.Buffer{}, ErrWriter: errs, Commands: serveCommands()}
		base, stop := startServe(t, a, errs, args...)
		return base, func() {
			if err := stop(); err != nil {
				t.Errorf("serve %v: %v", args, err)
			}
		}
	}
	whole, _ := serve("--index", filepath.Join(dir, "whole"), "--checkpoint", ck, "-c", corpus, "--threads", "1")
	s0, _ := serve("--index", filepath.Join(dir, "shard0"), "--checkpoint", ck, "-c", corpus, "--threads", "1")
	s1, stop1 := serve("--index", filepath.Join(dir, "shard1"), "--checkpoint", ck, "-c", corpus, "--threads", "1")
	partial, _ := serve("--shards", s0+","+s1, "--on-shard-error", "partial")
	failing, _ := serve("--shards", s0+","+s1, "--shard-timeout", "30s")

	client := &http.Client{Timeout: 60 * time.Second}
	post := func(base, body string, v any) int {
		t.Helper()
		resp, err := client.Post(base+"/search", "application/json", strings.NewReader(body))
		must(t, err)
		defer resp.Body.Close()
		must(t, json.NewDecoder(resp.Body).Decode(v))
		return resp.StatusCode
	}
	type hit struct {
		ID    string
		Score float32
		Text  string
		Shard int
	}
	type answer struct {
		Results      []hit
		Partial      bool
		FailedShards []router.ShardError `json:"failed_shards"`
		Error        string
	}
	for _, q := range qs[:5] {
		body := fmt.Sprintf(`{"query": %q, "k": 10, "ncells": 1000, "ndocs": 100000, "threshold": -1000}`, q.Text)
		var want, got, got2 answer
		if code := post(whole, body, &want); code != 200 || len(want.Results) != 10 {
			t.Fatalf("whole index: status %d, %d results (%s)", code, len(want.Results), want.Error)
		}
		if code := post(partial, body, &got); code != 200 || got.Partial {
			t.Fatalf("router: status %d, partial %v (%s)", code, got.Partial, got.Error)
		}
		if code := post(failing, body, &got2); code != 200 {
			t.Fatalf("router (fail policy): status %d (%s)", code, got2.Error)
		}
		shards := map[int]bool{}
		for i, h := range got.Results {
			w := want.Results[i]
			if h.ID != w.ID || h.Score != w.Score || h.Text != w.Text || got2.Results[i].ID != w.ID {
				t.Errorf("query %s rank %d: router %s %.7g, whole index %s %.7g", q.ID, i+1, h.ID, h.Score, w.ID, w.Score)
			}
			shards[h.Shard] = true
		}
		t.Logf("query %s: top 10 from shards %v", q.ID, shards)
	}

	// filter_ids across shards: the ids live on different shards; the
	// router's answer equals the whole index's; an id no shard holds is
	// 400 (or, asked to ignore, listed).
	ids := []string{ps[3].ID, ps[41].ID, ps[60].ID, ps[77].ID}
	idsJSON, _ := json.Marshal(ids)
	fbody := fmt.Sprintf(`{"query": %q, "k": 10, "ncells": 1000, "ndocs": 100000, "threshold": -1000, "filter_ids": %s}`, qs[0].Text, idsJSON)
	var fw, fg answer
	if code := post(whole, fbody, &fw); code != 200 || len(fw.Results) != 4 {
		t.Fatalf("whole index with filter_ids: status %d, %d results (%s)", code, len(fw.Results), fw.Error)
	}
	if code := post(failing, fbody, &fg); code != 200 || len(fg.Results) != 4 {
		t.Fatalf("router with filter_ids: status %d, %d results (%s)", code, len(fg.Results), fg.Error)
	}
	for i := range fw.Results {
		if fg.Results[i].ID != fw.Results[i].ID || fg.Results[i].Score != fw.Results[i].Score {
			t.Errorf("filter_ids rank %d: router %s %.7g, whole %s %.7g", i+1, fg.Results[i].ID, fg.Results[i].Score, fw.Results[i].ID, fw.Results[i].Score)
		}
	}
	bad := fmt.Sprintf(`{"query": %q, "k": 10, "filter_ids": [%q, "no-such-id"]}`, qs[0].Text, ps[3].ID)
	var fe answer
	if code := post(failing, bad, &fe); code != http.StatusBadRequest || !strings.Contains(fe.Error, "no-such-id") {
		t.Errorf("router, unknown filter id: status %d %q, want 400 naming it", code, fe.Error)
	}
	var fi struct {
		Results    []hit
		UnknownIDs []string `json:"unknown_ids"`
	}
	ignore := strings.Replace(bad, `"k": 10`, `"k": 10, "filter_ids_missing": "ignore"`, 1)
	if code := post(failing, ignore, &fi); code != 200 || len(fi.Results) != 1 || !slices.Equal(fi.UnknownIDs, []string{"no-such-id"}) {
		t.Errorf("router, unknown filter id ignored: status %d, %+v", code, fi)
	}

	stop1()
	body := fmt.Sprintf(`{"query": %q, "k": 5}`, qs[0].Text)
	var got answer
	if code := post(partial, body, &got); code != 200 || !got.Partial || len(got.FailedShards) != 1 || got.FailedShards[0].URL != s1 || len(got.Results) != 5 {
		t.Errorf("shard 1 down, partial: status %d, %+v", code, got)
	}
	for _, h := range got.Results {
		if h.Shard != 0 {
			t.Errorf("hit %s from the stopped shard", h.ID)
		}
	}
	var e answer
	if code := post(failing, body, &e); code != http.StatusBadGateway || !strings.Contains(e.Error, "shard 1 ("+s1+")") {
		t.Errorf("shard 1 down, fail: status %d %q, want 502 naming shard 1", code, e.Error)
	}
	for _, bad := range [][]string{{"--shards", "not a url"}, {"--shards", s0, "--on-shard-error", "maybe"}, {"--shards", s0, "--index", "x"}, {}} {
		a := &cli.App{Name: "colbert", Writer: &bytes.Buffer{}, ErrWriter: &bytes.Buffer{}, Commands: serveCommands()}
		if err := a.Run(append([]string{"colbert", "serve", "--addr", "127.0.0.1:0"}, bad...)); err == nil {
			t.Errorf("serve %v accepted", bad)
		}
	}
}
