//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/search/server"
	"github.com/urfave/cli/v2"
)

// TestServeReloadCLI serves a 60-passage index, appends 20 passages with
// `colbert index append` and sends SIGHUP: the server answers from the new
// generation (its passages found, reranked by id, with text), without a
// restart, and with the texts of the collection file, read again as it
// changed. Then `colbert index delete` is taken up by --watch: the deleted
// passage is no longer returned and reranking it is a 400 naming it, while
// every other passage keeps its pid.
func TestServeReloadCLI(t *testing.T) {
	ck, dir, idx, ps := servedIndex(t, 60)
	added, coll := filepath.Join(dir, "added.jsonl"), filepath.Join(dir, "collection.jsonl")
	must(t, data.WriteCorpusJSONL(added, ps[60:80]))
	must(t, data.WriteCorpusJSONL(coll, ps[:60])) // the texts served; the appended passages join it below

	var out bytes.Buffer
	errw := &syncBuffer{}
	app := &cli.App{Name: "colbert", Writer: &out, ErrWriter: errw, Commands: append(indexCommands(), serveCommands()...)}

	base, stop := startServe(t, app, errw, "--index", idx, "--checkpoint", ck, "-c", coll, "--threads", "2", "--watch", "50ms")
	client := &http.Client{Timeout: 30 * time.Second}
	post := func(path string, body any, v any) int {
		t.Helper()
		raw, _ := json.Marshal(body)
		resp, err := client.Post(base+path, "application/json", bytes.NewReader(raw))
		must(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusOK {
			must(t, json.Unmarshal(b, v))
		} else if e, ok := v.(*string); ok {
			*e = string(b)
		}
		return resp.StatusCode
	}
	generation := func() int {
		resp, err := client.Get(base + "/healthz")
		must(t, err)
		defer resp.Body.Close()
		var h struct{ Generation, Passages int }
		must(t, json.NewDecoder(resp.Body).Decode(&h))
		return h.Generation
	}
	waitGeneration := func(want int) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); generation() != want; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the server did not take up generation %d:\n%s", want, errw.String())
			}
		}
	}
	// Query with an appended passage's own text: it ranks first once
	// appended.
	target := ps[70]
	query := map[string]any{"query": target.Text, "k": 80, "ncells": 32, "ndocs": 400}
	var r server.Response
	if code := post("/search", query, &r); code != http.StatusOK || len(r.Results) != 60 || r.Generation != 0 {
		t.Fatalf("before the append: status %d, %d results, generation %d", code, len(r.Results), r.Generation)
	}
	// --watch would take the append up as well; SIGHUP must do it at once
	// and the test cannot tell them apart, so the watcher only sees the
	// delete below. Both call the same reload.
	must(t, data.WriteCorpusJSONL(coll, ps[:80]))
	must(t, app.Run([]string{"colbert", "index", "append", "--index", idx, "--checkpoint", ck, "-c", added, "--threads", "2", "-q"}))
	must(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	waitGeneration(1)
	// The collection is read again after the swap: wait for its message.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(errw.String(), "read 80 passage texts again"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no reload messages:\n%s", errw.String())
		}
	}
	if !strings.Contains(errw.String(), "generation 0 → 1, 80 passages") {
		t.Errorf("no reload message:\n%s", errw.String())
	}
	if code := post("/search", query, &r); code != http.StatusOK || len(r.Results) != 80 || r.Generation != 1 {
		t.Fatalf("after the append: status %d, %d results, generation %d", code, len(r.Results), r.Generation)
	}
	if r.Results[0].ID != target.ID || r.Results[0].PID != 70 || r.Results[0].Text != target.Content() {
		t.Errorf("after the append, the appended passage's own text ranks %+v first, want %s (pid 70)", r.Results[0], target.ID)
	}
	pidOf := map[string]int{}
	for _, h := range r.Results {
		pidOf[h.ID] = h.PID
	}
	var rr server.RerankResponse
	ids := []string{ps[3].ID, target.ID, ps[65].ID}
	if code := post("/rerank", map[string]any{"query": target.Text, "ids": ids}, &rr); code != http.StatusOK || len(rr.Results) != 3 || rr.Results[0].ID != target.ID {
		t.Fatalf("rerank after the append: status %d %+v", code, rr.Results)
	}

	must(t, app.Run([]string{"colbert", "index", "delete", "--index", idx, "--ids", target.ID}))
	waitGeneration(2) // --watch
	if code := post("/search", query, &r); code != http.StatusOK || len(r.Results) != 79 || r.Generation != 2 {
		t.Fatalf("after the delete: status %d, %d results, generation %d", code, len(r.Results), r.Generation)
	}
	for _, h := range r.Results {
		if h.ID == target.ID {
			t.Errorf("deleted passage %s returned", target.ID)
		}
		if pidOf[h.ID] != h.PID {
			t.Errorf("passage %s moved from pid %d to %d", h.ID, pidOf[h.ID], h.PID)
		}
	}
	var msg string
	var e struct{ Error string }
	code := post("/rerank", map[string]any{"query": target.Text, "ids": ids}, &msg)
	if json.Unmarshal([]byte(msg), &e); code != http.StatusBadRequest || !strings.Contains(e.Error, fmt.Sprintf("not in the index (or were deleted): %q", target.ID)) {
		t.Errorf("rerank of a deleted id: %d %s", code, msg)
	}

	if err := stop(); err != nil {
		t.Fatalf("serve after shutdown: %v", err)
	}
}
