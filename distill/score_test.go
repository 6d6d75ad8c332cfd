package distill

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/parquetio"
	"github.com/colbert-go/colbert/data/safetensors"
	"github.com/colbert-go/colbert/data/testassets"
	"github.com/colbert-go/colbert/data/tokenize"
	"github.com/colbert-go/colbert/model/ort"
)

var (
	rtOnce sync.Once
	rt     *ort.Runtime
	rtErr  error
)

func sharedRuntime(t testing.TB) *ort.Runtime {
	t.Helper()
	rtOnce.Do(func() { rt, rtErr = ort.NewRuntime("") })
	if rtErr != nil {
		t.Skipf("ONNX Runtime library not available (run make setup): %v", rtErr)
	}
	return rt
}

// tinyTeacher opens the hf-tiny cross-encoder (torch.onnx.export) and its
// bert-base-uncased tokenizer.
func tinyTeacher(t testing.TB, maxLen int) (*ort.CrossEncoder, PairTokenizer, int32) {
	t.Helper()
	r := sharedRuntime(t)
	ce, err := r.NewCrossEncoder(testassets.Path(t, "models/hf-tiny/cross-encoder/model.onnx"), ort.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ce.Close() })
	tok, err := tokenize.Load(testassets.Path(t, "models/hf-tiny/cross-encoder/tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	pt, pad, err := HFPairTokenizer(tok, maxLen)
	if err != nil {
		t.Fatal(err)
	}
	return ce, pt, pad
}

type refJSON struct {
	Queries []string    `json:"queries"`
	Docs    []string    `json:"docs"`
	Pairs   [][2]string `json:"ce_pairs"`
}

func loadRefJSON(t testing.TB) refJSON {
	t.Helper()
	raw, err := os.ReadFile(testassets.Path(t, "models/hf-tiny/reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r refJSON
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// Tokenising the reference pairs ourselves, bucketing them by length and
// batching them reproduces the logits Python's ONNX Runtime gave on HF's
// padded-to-512 batch: bucketing and padding do not change scores.
func TestScorePairsReference(t *testing.T) {
	ce, tok, pad := tinyTeacher(t, 512)
	ref := loadRefJSON(t)
	st, err := safetensors.ReadFile(testassets.Path(t, "models/hf-tiny/reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	want := st.Tensors["ce_logits_onnxruntime"].F32
	var qs, ps []string
	for _, p := range ref.Pairs {
		qs = append(qs, p[0])
		ps = append(ps, p[1])
	}
	for _, opt := range []PairOptions{
		{BatchSize: 5, Bucket: true, Threads: 2, PadID: pad, Workers: 3},
		{BatchSize: 32, MaxTokens: 1200, Bucket: true, PadID: pad},
		{BatchSize: 1, Bucket: false, Threads: 1, PadID: pad},
	} {
		got, err := ScorePairs(context.Background(), qs, ps, tok, ce, opt, nil)
		if err != nil {
			t.Fatal(err)
		}
		var d float64
		for i := range want {
			d = max(d, math.Abs(float64(got[i]-want[i])))
		}
		if d > 1e-5 {
			t.Errorf("%+v: max abs diff to ce_logits_onnxruntime %.3g > 1e-5", opt, d)
		}
	}
}

// countingScorer counts forward passes and can cancel a context after a
// number of them, simulating a run killed mid-way.
type countingScorer struct {
	inner       Scorer
	mu          sync.Mutex
	calls       int
	cancelAfter int
	cancel      context.CancelFunc
}

func (c *countingScorer) Score(b ort.Batch) ([]float32, error) {
	c.mu.Lock()
	c.calls++
	if c.cancel != nil && c.calls == c.cancelAfter {
		c.cancel()
	}
	c.mu.Unlock()
	return c.inner.Score(b)
}

// scoreFixture: 24 real queries × 4 candidates drawn from 24 real documents
// (the query's own index first), as a candidates file.
func scoreFixture(t *testing.T, f Format, ext string) (job ScoreJob, dir string) {
	ref := loadRefJSON(t)
	dir = t.TempDir()
	queries, passages := map[string]string{}, map[string]string{}
	var exs []data.Example
	for i := range ref.Queries {
		queries[fmt.Sprint("q", i)] = ref.Queries[i]
		passages[fmt.Sprint("d", i)] = ref.Docs[i]
	}
	for i := range ref.Queries {
		ex := data.Example{QueryID: fmt.Sprint("q", i)}
		for k := 0; k < 4; k++ {
			ex.DocIDs = append(ex.DocIDs, fmt.Sprint("d", (i+7*k)%len(ref.Docs)))
		}
		exs = append(exs, ex)
	}
	cand := filepath.Join(dir, "cand"+ext)
	w, _ := f.Create(cand, nil)
	w.Write(exs)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return ScoreJob{Candidates: cand, Format: f, Queries: queries, Passages: passages,
		Settings: map[string]string{"teacher_sha256": "test"}, ShardSize: 5}, dir
}

// A run cancelled mid-way and restarted with the same job continues from
// its last complete shard and produces exactly the uninterrupted output.
func TestScoreResume(t *testing.T) {
	for _, c := range []struct {
		name string
		f    Format
		ext  string
	}{{"parquet", ParquetFormat{}, ".parquet"}, {"jsonl", JSONLFormat{}, ".jsonl"}} {
		t.Run(c.name, func(t *testing.T) { testScoreResume(t, c.f, c.ext) })
	}
}

func testScoreResume(t *testing.T, f Format, ext string) {
	ce, tok, pad := tinyTeacher(t, 128)
	job, dir := scoreFixture(t, f, ext)
	job.Tokenize = tok
	job.Pairs = PairOptions{BatchSize: 6, Bucket: true, Threads: 2, PadID: pad}

	full := job
	full.Out = filepath.Join(dir, "full"+ext)
	full.Teacher = ce
	st, err := Score(context.Background(), full)
	if err != nil {
		t.Fatal(err)
	}
	if st.Examples != 24 || st.Pairs != 96 || st.Shards != 5 || st.ResumedShards != 0 {
		t.Fatalf("uninterrupted run stats %+v", st)
	}
	if _, err := os.Stat(ShardDir(full.Out)); !os.IsNotExist(err) {
		t.Errorf("shard directory left after a complete run: %v", err)
	}

	// Kill: cancel during the 9th forward pass (shard 0 and 1 need 4 each).
	ctx, cancel := context.WithCancel(context.Background())
	killed := job
	killed.Out = filepath.Join(dir, "resumed"+ext)
	cs := &countingScorer{inner: ce, cancelAfter: 9, cancel: cancel}
	killed.Teacher = cs
	if _, err := Score(ctx, killed); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run returned %v", err)
	}
	if _, err := os.Stat(killed.Out); !os.IsNotExist(err) {
		t.Fatal("a cancelled run left a final output")
	}
	// Restart with the same job.
	cs2 := &countingScorer{inner: ce}
	killed.Teacher = cs2
	st2, err := Score(context.Background(), killed)
	if err != nil {
		t.Fatal(err)
	}
	if st2.ScoredPairs != 96-2*20 {
		t.Errorf("restart scored %d pairs, want the 56 of shards 2–4", st2.ScoredPairs)
	}
	if st2.ResumedShards != 2 {
		t.Errorf("resumed %d shards, want the 2 completed before the kill", st2.ResumedShards)
	}
	// 20 pairs per shard in batches of 6 = 4 passes (3 for the last shard of
	// 16 pairs): the restart does shards 2–4 only.
	if cs2.calls != 4+4+3 {
		t.Errorf("restart made %d forward passes, want 11 (shards 2–4)", cs2.calls)
	}
	a, _ := os.ReadFile(full.Out)
	b, _ := os.ReadFile(killed.Out)
	if !bytes.Equal(a, b) {
		t.Errorf("resumed output differs from the uninterrupted one")
	}
	var exs []data.Example
	if err := f.ReadBatches(full.Out, 7, func(b []data.Example) error { exs = append(exs, b...); return nil }); err != nil {
		t.Fatal(err)
	}
	var exs2 []data.Example
	if err := f.ReadBatches(killed.Out, 100, func(b []data.Example) error { exs2 = append(exs2, b...); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(exs, exs2) || len(exs) != 24 {
		t.Errorf("resumed dataset (%d examples) differs from the uninterrupted one (%d)", len(exs2), len(exs))
	}
	var meta map[string]string
	if ext == ".parquet" {
		meta, err = parquetio.ReadMetadata(killed.Out)
	} else {
		meta, err = ReadJSONLMeta(killed.Out)
	}
	if err != nil {
		t.Fatal(err)
	}
	if meta["teacher_sha256"] != "test" || meta["pairs"] != "96" || meta["batch_size"] != "6" || len(meta["candidates_sha256"]) != 64 {
		t.Errorf("metadata %v", meta)
	}
	// Running the finished job again keeps the output without scoring.
	cs3 := &countingScorer{inner: ce}
	killed.Teacher = cs3
	st3, err := Score(context.Background(), killed)
	if err != nil {
		t.Fatal(err)
	}
	if !st3.UpToDate || cs3.calls != 0 || st3.Examples != 24 || st3.Pairs != 96 {
		t.Errorf("rerun of a finished job: %+v after %d passes", st3, cs3.calls)
	}
	if c, _ := os.ReadFile(killed.Out); !bytes.Equal(a, c) {
		t.Error("rerun changed the output")
	}
	// The scores are the teacher's: the diagonal pair (a query and the
	// document with its own index) scored alone gives the same logit.
	one, err := ScorePairs(context.Background(), []string{job.Queries["q3"]}, []string{job.Passages["d3"]}, tok, ce, PairOptions{PadID: pad}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if exs[3].QueryID != "q3" || exs[3].DocIDs[0] != "d3" || math.Abs(float64(exs[3].TeacherScores[0]-one[0])) > 1e-5 {
		t.Errorf("example 3 = %+v, pair (q3, d3) alone scores %v", exs[3], one[0])
	}
}

func TestScoreRefusesOtherSettingsAndRepairsShards(t *testing.T) {
	ce, tok, pad := tinyTeacher(t, 64)
	f := JSONLFormat{}
	job, dir := scoreFixture(t, f, ".jsonl")
	job.Tokenize, job.Teacher = tok, ce
	job.Pairs = PairOptions{BatchSize: 8, Bucket: true, PadID: pad}
	job.Out = filepath.Join(dir, "out.jsonl")

	ctx, cancel := context.WithCancel(context.Background())
	job.Teacher = &countingScorer{inner: ce, cancelAfter: 7, cancel: cancel}
	if _, err := Score(ctx, job); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run returned %v", err)
	}
	other := job
	other.Settings = map[string]string{"teacher_sha256": "another model"}
	other.Teacher = ce
	if _, err := Score(context.Background(), other); err == nil || !strings.Contains(err.Error(), "teacher_sha256") {
		t.Fatalf("restart with another teacher: %v", err)
	}
	// Damage a recorded shard: it and the following ones are redone.
	shard := filepath.Join(ShardDir(job.Out), "shard-000000.jsonl")
	if err := os.WriteFile(shard, []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	job.Teacher = ce
	st, err := Score(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if st.ResumedShards != 0 || st.Examples != 24 {
		t.Errorf("after damaging shard 0: %+v", st)
	}
	// A candidate naming an unknown document is an error that names it.
	bad := job
	bad.Out = filepath.Join(dir, "bad.jsonl")
	delete(bad.Passages, "d7")
	if _, err := Score(context.Background(), bad); err == nil || !strings.Contains(err.Error(), `"d7"`) {
		t.Errorf("unknown document: %v", err)
	}
}
