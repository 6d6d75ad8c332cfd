package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/testassets"
	"github.com/colbert-go/colbert/search/server"
	"github.com/urfave/cli/v2"
)

// syncBuffer lets the test read what the server goroutine writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// servedIndex builds an index of Cranfield's first n passages with the
// hf-tiny checkpoint (what the serve tests serve) and returns the
// checkpoint, a temporary directory, the index in it and every passage.
func servedIndex(t *testing.T, n int) (ck, dir, idx string, ps []data.Passage) {
	t.Helper()
	ck = testassets.Path(t, "models/hf-tiny/colbert")
	cran := testassets.Path(t, "classic/cranfield")
	dir = t.TempDir()
	ps, err := data.ReadCorpusJSONL(filepath.Join(cran, "corpus.jsonl"))
	must(t, err)
	first := filepath.Join(dir, "first.jsonl")
	must(t, data.WriteCorpusJSONL(first, ps[:n]))
	app := &cli.App{Name: "colbert", Writer: &bytes.Buffer{}, ErrWriter: &bytes.Buffer{}, Commands: indexCommands()}
	idx = filepath.Join(dir, "idx")
	must(t, app.Run([]string{"colbert", "index", "--checkpoint", ck, "-c", first, "--out", idx,
		"--centroids", "32", "--sample", "40", "--threads", "2", "-q"}))
	return ck, dir, idx, ps
}

var listeningRE = regexp.MustCompile(`listening on (http://[0-9.:]+)`)

// startServe runs `colbert serve args… --addr 127.0.0.1:0` of app (whose
// ErrWriter is errw) until stop is called or the test ends, and returns
// the server's base URL once it listens. stop ends it as SIGTERM does and
// returns serve's error, failing the test if it does not end in 30 s.
func startServe(t *testing.T, app *cli.App, errw *syncBuffer, args ...string) (base string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- app.RunContext(ctx, append(append([]string{"colbert", "serve"}, args...), "--addr", "127.0.0.1:0"))
	}()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				err = fmt.Errorf("serve %v did not shut down in 30 s", args)
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := listeningRE.FindStringSubmatch(errw.String()); m != nil {
			return m[1], stop
		}
		select {
		case err := <-done:
			t.Fatalf("serve %v exited early: %v\n%s", args, err, errw.String())
		default:
		}
	}
	t.Fatalf("serve %v did not start in 60 s:\n%s", args, errw.String())
	return "", nil
}

// TestServeCLI builds a small index, serves it on a loopback port, checks
// that /search ranks exactly as `colbert search` does and returns passage
// text, that bad requests get 4xx, and that cancelling the context (what
// SIGTERM does) shuts the server down cleanly.
func TestServeCLI(t *testing.T) {
	ck := testassets.Path(t, "models/hf-tiny/colbert")
	cran := testassets.Path(t, "classic/cranfield")
	dir := t.TempDir()
	ps, err := data.ReadCorpusJSONL(filepath.Join(cran, "corpus.jsonl"))
	must(t, err)
	qs, err := data.ReadQueriesJSONL(filepath.Join(cran, "queries.jsonl"))
	must(t, err)
	corpus, queries := filepath.Join(dir, "corpus.jsonl"), filepath.Join(dir, "queries.jsonl")
	must(t, data.WriteCorpusJSONL(corpus, ps[:80]))
	must(t, data.WriteQueriesJSONL(queries, qs[:1]))

	var out bytes.Buffer
	errw := &syncBuffer{}
	app := &cli.App{Name: "colbert", Writer: &out, ErrWriter: errw,
		Commands: append(append(indexCommands(), searchCommands()...), serveCommands()...)}
	idx, runPath := filepath.Join(dir, "idx"), filepath.Join(dir, "run.trec")
	must(t, app.Run([]string{"colbert", "index", "--checkpoint", ck, "-c", corpus, "--out", idx,
		"--centroids", "32", "--sample", "40", "--threads", "2", "-q"}))
	must(t, app.Run([]string{"colbert", "search", "--index", idx, "--checkpoint", ck, "--queries", queries,
		"--k", "5", "--out", runPath, "-q"}))
	want := readTREC(t, runPath)[qs[0].ID]

	base, stop := startServe(t, app, errw, "--index", idx, "--checkpoint", ck, "-c", corpus, "--threads", "2")
	client := &http.Client{Timeout: 30 * time.Second}

	body := fmt.Sprintf(`{"query": %q, "k": 5}`, qs[0].Text)
	resp, err := client.Post(base+"/search", "application/json", strings.NewReader(body))
	must(t, err)
	var got server.Response
	must(t, json.NewDecoder(resp.Body).Decode(&got))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(got.Results) != len(want) {
		t.Fatalf("status %d, %d results, want %d", resp.StatusCode, len(got.Results), len(want))
	}
	text := map[string]string{}
	for _, p := range ps[:80] {
		text[p.ID] = p.Content()
	}
	for i, r := range got.Results {
		if r.ID != want[i].DocID || float64(r.Score) != float64(float32(want[i].Score)) {
			t.Errorf("rank %d: server %s %.7g, colbert search %s %.7g", i+1, r.ID, r.Score, want[i].DocID, want[i].Score)
		}
		if r.Text != text[r.ID] {
			t.Errorf("rank %d: text of %s not returned", i+1, r.ID)
		}
	}
	for _, bad := range []string{`{"query": "", "k": 5}`, `{"query": "x", "k": 0}`, `{"query": "x", "k": 100000}`, `{"query": `} {
		resp, err := client.Post(base+"/search", "application/json", strings.NewReader(bad))
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("%s: status %d, want 4xx", bad, resp.StatusCode)
		}
	}
	// A query the tokenizer finds nothing in is refused by the real query
	// encoder with colbert.ErrNoTokens: the client's mistake, a 400 saying so.
	resp, err = client.Post(base+"/search", "application/json", strings.NewReader(`{"query": "\u0007\u0007"}`))
	must(t, err)
	var e struct{ Error string }
	must(t, json.NewDecoder(resp.Body).Decode(&e))
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(e.Error, "no tokens") {
		t.Errorf(`{"query": "\u0007\u0007"}: status %d %q, want 400 saying the query has no tokens`, resp.StatusCode, e.Error)
	}
	resp, err = client.Get(base + "/healthz")
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthz: %d", resp.StatusCode)
	}

	if err := stop(); err != nil {
		t.Fatalf("serve after shutdown: %v", err)
	}
}
