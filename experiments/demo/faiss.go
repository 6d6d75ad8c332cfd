package demo

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/colbert-go/colbert/codec/flat"
	"github.com/colbert-go/colbert/data"
)

//go:embed ivfpq_run.py
var ivfpqScript []byte

// python is Debian's interpreter, the one with faiss (plain python3 may be
// a pyenv without it).
const python = "/usr/bin/python3"

// dumpVectors writes the KL student's token vectors (fp16) and test query
// matrices for the faiss peer.
func dumpVectors(dir string, dv *flat.Vectors, qv [][]float32, qs []data.Query) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	write := func(name string, fn func(w *bufio.Writer) error) error {
		return data.WriteFileAtomic(filepath.Join(dir, name), fn)
	}
	if err := write("vectors.f16", func(w *bufio.Writer) error {
		var b [2]byte
		for _, v := range dv.Vecs {
			binary.LittleEndian.PutUint16(b[:], flat.ToHalf(v))
			if _, err := w.Write(b[:]); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := write("doclens.i32", func(w *bufio.Writer) error {
		for i := range dv.IDs {
			if err := binary.Write(w, binary.LittleEndian, int32(dv.Offsets[i+1]-dv.Offsets[i])); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := write("queries.f32", func(w *bufio.Writer) error {
		var b [4]byte
		for _, q := range qv {
			for _, v := range q {
				binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
				if _, err := w.Write(b[:]); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		return err
	}
	ids := dv.IDs
	qids := make([]string, len(qs))
	for i, q := range qs {
		qids[i] = q.ID
	}
	if err := write("passage_ids.txt", func(w *bufio.Writer) error { _, err := w.WriteString(strings.Join(ids, "\n")); return err }); err != nil {
		return err
	}
	return write("query_ids.txt", func(w *bufio.Writer) error { _, err := w.WriteString(strings.Join(qids, "\n")); return err })
}

// faissRow runs the faiss IVFPQ peer on the dumped vectors, or records why
// it cannot run.
func faissIVFPQRow(ctx context.Context, p paths, opt Options) error {
	r := Row{Slug: "faiss-ivfpq", System: "faiss IVFPQ token search + MaxSim rerank (peer)"}
	if err := exec.CommandContext(ctx, python, "-c", "import faiss").Run(); err != nil {
		r.NotRun = "not run: " + python + " cannot import faiss"
		return writeRow(p, r)
	}
	ds, err := testSet(p)
	if err != nil {
		return err
	}
	dir := p.j("faiss")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	script := filepath.Join(dir, "ivfpq_run.py")
	if err := os.WriteFile(script, ivfpqScript, 0o644); err != nil {
		return err
	}
	run, summary := filepath.Join(dir, "run.trec"), filepath.Join(dir, "summary.json")
	cmd := exec.CommandContext(ctx, python, script, "--dump", p.j("vectors"), "--run", run, "--summary", summary,
		"--k", fmt.Sprint(opt.Config.K), "--dim", fmt.Sprint(opt.Config.Student.Dim), "--qlen", fmt.Sprint(opt.Config.Student.QueryMaxLen))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("faiss peer: %v: %s", err, out)
	}
	raw, err := os.ReadFile(summary)
	if err != nil {
		return err
	}
	var s struct {
		IndexBytes int64   `json:"index_bytes"`
		MS         float64 `json:"ms_per_query"`
		P50        float64 `json:"p50_ms"`
		P95        float64 `json:"p95_ms"`
		NList      int     `json:"nlist"`
		M          int     `json:"m"`
		NProbe     int     `json:"nprobe"`
		KTok       int     `json:"ktok"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("faiss peer: %s: %w", summary, err)
	}
	st, err := os.Stat(filepath.Join(p.j("vectors"), "vectors.f16"))
	if err != nil {
		return err
	}
	rn, err := data.ReadTRECRun(run)
	if err != nil {
		return err
	}
	r.IndexBytes = s.IndexBytes + st.Size()
	r.MSPerQuery, r.LatencyP50, r.LatencyP95 = s.MS, s.P50, s.P95
	r.Note = fmt.Sprintf("IVFPQ nlist %d, %d-byte PQ, nprobe %d, %d tokens per query vector; size includes the fp16 vectors the rerank reads; query encoding not included", s.NList, s.M, s.NProbe, s.KTok)
	return evalRun(p, ds, rn, r, "faiss-ivfpq")
}
